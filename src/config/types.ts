import type { VerifyConfig } from "./verify_config.ts";
import type { CommitStatusTarget } from "./commit_status_config.ts";
import type { NotifyEventName, NotifyFormat } from "./vocabulary.ts";
export type { CommitStatusTarget, VerifyConfig };

/** A hook command: a string runs through the platform shell, a list runs directly. */
export type HookCommand = string | readonly string[];

/** How the work tree is brought to the fetched commit (docs/design.md#sync). */
export type SyncMode = "ff-only" | "reset";

/** One notification target as written (docs/notifications.md); `url` may hold `${NAME}` references. */
export interface NotifyTarget {
  /** "" when the URL is read from `urlFile`. */
  url: string;
  /** `url_file`: an absolute path the URL is read from instead. */
  urlFile?: string;
  /** Subscribed events; undefined = every event. */
  events?: NotifyEventName[];
  /** Forced message format; undefined = worked out from the URL. */
  format?: NotifyFormat;
}

/** The optional HTTP endpoint (docs/webhooks.md); defaults in defaults.ts. */
export interface WebhookConfig {
  listen: string;
  secret?: string;
  /** `secret_file`: an absolute path the secret is read from instead. */
  secretFile?: string;
  insecure: boolean;
  /** Token the read-only endpoints require (`${VAR}` unexpanded); open when undefined. */
  readToken?: string;
  /** `read_token_file`: an absolute path the read token is read from instead. */
  readTokenFile?: string;
  /** Token the operator actions (`POST /api/services/…`) require (`${VAR}` unexpanded); they are off when undefined. */
  adminToken?: string;
  /** Connections open at once; undefined: the server's default. */
  maxConnections?: number;
  /** Seconds a client has to send a request's head. */
  headerTimeout?: number;
  /** Seconds a client has to send a request's body (and to read the response). */
  bodyTimeout?: number;
  /** Seconds a kept-alive connection may wait for its next request. */
  idleTimeout?: number;
}

/** `.upstream-watch.yaml`, with every default applied (docs/configuration.md; defaults in defaults.ts). */
export interface RepoConfig {
  singleDirectoryMode: boolean;
  /** Seconds between polls. */
  retryInterval: number;
  /** Top-level folder names that are never services; always contains `.git`. */
  ignoreFolders: string[];
  /** Remote to fetch; undefined = the branch's upstream remote, else `origin`. */
  remote?: string;
  /** Branch to follow; undefined = the current branch's upstream. */
  branch?: string;
  sync: SyncMode;
  /** Path of the state DB relative to the repository root. */
  stateFile: string;
  /** Seconds one command may run. */
  commandTimeout: number;
  maxAttempts: number;
  /** Seconds; first delay after a failure. Defaults to `retryInterval`. */
  retryBackoff: number;
  parallel: number;
  historyLimit: number;
  notify: NotifyTarget[];
  webhook?: WebhookConfig;
  /** Signed-commit verification; off when undefined. */
  verify?: VerifyConfig;
  /** Where each run's status is reported on the git host. */
  commitStatus?: CommitStatusTarget[];
  /** Base URL of the status page, for links from commit statuses. */
  publicUrl?: string;
}

/** The formats a SOPS file can be in, as `sops --input-type` names them. */
export const SECRET_FORMATS = [
  "yaml",
  "json",
  "dotenv",
  "ini",
  "binary",
] as const;

/** One of {@link SECRET_FORMATS}. */
export type SecretFormat = (typeof SECRET_FORMATS)[number];

/** One SOPS file of a service (docs/secrets.md), paths relative to the service folder. */
export interface SecretFile {
  /** The encrypted file, as committed. */
  file: string;
  /** Where the decrypted file is written; undefined: not written (only `env_from` reads it). */
  to?: string;
  /** Permission bits of the decrypted file (default 0o600). */
  mode: number;
  format: SecretFormat;
}

/** `<service>/.update-hooks.yaml`, with defaults applied (docs/configuration.md). */
export interface ServiceConfig {
  preUpdateCommands: HookCommand[];
  updateCommands: HookCommand[];
  postUpdateCommands: HookCommand[];
  onFailureCommands: HookCommand[];
  onRemoveCommands: HookCommand[];
  /** Per-command timeout in seconds; overrides `command_timeout`. */
  timeout?: number;
  dependsOn: string[];
  /** Repo-relative paths, normalised: no leading `./`, no trailing `/`. */
  watchPaths: string[];
  /** Hostnames this service is handled on; undefined = every host. */
  hosts?: string[];
  env: Record<string, string>;
  /** Run after `post` as step `health`; each is retried until it passes or the health timeout. */
  healthCommands?: HookCommand[];
  /** Seconds the health step may take in all (default 60). */
  healthTimeout?: number;
  /** Seconds between attempts of a failing health command (default 2). */
  healthInterval?: number;
  /** Roll back to the deployed commit after a failure at update, post or health. */
  rollback?: boolean;
  /** Seconds between self-heal checks while the daemon runs; undefined = off. */
  checkInterval?: number;
  /** SOPS files decrypted before `pre` (step `decrypt`); empty: none. */
  secrets?: SecretFile[];
  /** The secret (its `file`) whose dotenv values become the hooks' environment. */
  envFrom?: string;
}

/** A parsed configuration plus the problems that did not stop loading it. */
export interface LoadedConfig<T> {
  config: T;
  warnings: ConfigWarning[];
}

/** A configuration problem that does not stop loading (e.g. an unknown key). */
export interface ConfigWarning {
  file: string;
  line?: number;
  key?: string;
  message: string;
}

/** Name of the repository configuration file at the repository root. */
export const REPO_CONFIG_FILE = ".upstream-watch.yaml";
/** Name of the per-service hook file. */
export const SERVICE_CONFIG_FILE = ".update-hooks.yaml";
/** Name of the single service in single-directory mode. */
export const SINGLE_SERVICE_NAME = ".";
