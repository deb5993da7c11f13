#!/bin/sh
# Archives the docker volumes of this host. Installed as a nightly job; the
# hooks in .update-hooks.yaml only check it and record the deployment.
# Usage: backup.sh [--dry-run]
set -eu

dest="${BACKUP_DIR:-/var/backups/infra}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
# The hooks get these from env_from; the nightly job reads the .env that
# upstream-watch decrypted from backup.sops.env beside this script.
env_file="$(dirname "$0")/.env"
if [ -z "${BACKUP_PASSPHRASE:-}" ] && [ -f "$env_file" ]; then
  set -a
  . "$env_file"
  set +a
fi
: "${BACKUP_PASSPHRASE:?is not set (see backup.sops.env)}"
remote="${BACKUP_REMOTE:-none}"

if [ "${1:-}" = "--dry-run" ]; then
  echo "backup.sh: would archive /var/lib/docker/volumes to $dest, encrypt it with the passphrase from .env, copy it to $remote and keep $keep_days days"
  exit 0
fi

mkdir -p "$dest"
archive="$dest/volumes-$(date -u +%Y%m%dT%H%M%SZ).tar.gz.enc"
tar -czf - -C /var/lib/docker volumes |
  openssl enc -aes-256-cbc -pbkdf2 -pass env:BACKUP_PASSPHRASE -out "$archive"
if [ "$remote" != none ]; then scp -q "$archive" "$remote/"; fi
find "$dest" -name 'volumes-*.tar.gz.enc' -mtime +"$keep_days" -delete
