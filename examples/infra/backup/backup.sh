#!/bin/sh
# Archives the docker volumes of this host. Installed as a nightly job; the
# hooks in .update-hooks.yaml only check it and record the deployment.
# Usage: backup.sh [--dry-run]
set -eu

dest="${BACKUP_DIR:-/var/backups/infra}"
keep_days="${BACKUP_KEEP_DAYS:-14}"

if [ "${1:-}" = "--dry-run" ]; then
  echo "backup.sh: would archive /var/lib/docker/volumes to $dest and keep $keep_days days"
  exit 0
fi

mkdir -p "$dest"
tar -czf "$dest/volumes-$(date -u +%Y%m%dT%H%M%SZ).tar.gz" -C /var/lib/docker volumes
find "$dest" -name 'volumes-*.tar.gz' -mtime +"$keep_days" -delete
