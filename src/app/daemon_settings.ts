/**
 * Other commands work with the settings the daemon was started with
 * (docs/design.md#the-daemons-settings): a `plan` run from a shell without
 * `--allowed-signers` must not tell a different story than the daemon, which
 * was started with it. A flag given to the command itself wins.
 * @module
 */
import type { DaemonRecord } from "../state/daemon_record.ts";

/** The settings that come from flags and the environment rather than the repository. */
export interface EffectiveSettings {
  host: string;
  /** `--config` (absolute), or null for the repository's own file. */
  config: string | null;
  /** `--allowed-signers` or `UPSTREAM_WATCH_ALLOWED_SIGNERS`, or null. */
  allowedSigners: { path: string; source: string } | null;
}

/** A command's own settings, and which of them its flags gave. */
export interface OwnSettings extends EffectiveSettings {
  explicit: { host: boolean; config: boolean; allowedSigners: boolean };
}

/** What a command works with, and how that differs from what it would have used on its own. */
export interface AdoptedSettings {
  settings: EffectiveSettings;
  /** One phrase per setting taken from the daemon, e.g. `--host web1 (this command: vm)`. */
  differences: string[];
}

/** The daemon's settings where the command's own flags do not say otherwise. */
export function adoptDaemonSettings(
  own: OwnSettings,
  daemon: DaemonRecord | undefined,
): AdoptedSettings {
  if (!daemon) return { settings: own, differences: [] };
  const differences: string[] = [];
  const host = own.explicit.host ? own.host : daemon.host;
  if (host !== own.host) {
    differences.push(`--host ${host} (this command: ${own.host})`);
  }
  const config = own.explicit.config ? own.config : daemon.config;
  if (config !== own.config) {
    differences.push(
      `--config ${config ?? "(the repository's)"} (this command: ${
        own.config ?? "the repository's"
      })`,
    );
  }
  const allowedSigners = own.explicit.allowedSigners
    ? own.allowedSigners
    : daemon.allowedSigners;
  if (allowedSigners?.path !== own.allowedSigners?.path) {
    differences.push(
      `${
        allowedSigners
          ? `${allowedSigners.source} ${allowedSigners.path}`
          : "no --allowed-signers"
      } (this command: ${
        own.allowedSigners
          ? `${own.allowedSigners.source} ${own.allowedSigners.path}`
          : "none"
      })`,
    );
  }
  return { settings: { host, config, allowedSigners }, differences };
}
