/**
 * The repository configuration in effect: the one loaded at start until the
 * agent reads it again as HEAD moves (docs/configuration.md). The agent, the
 * verifier, the notifier, the commit-status reporter and the HTTP endpoint
 * all hold this one object, so none of them can read a copy that went stale.
 * @module
 */
import type { RepoConfig } from "./types.ts";

/** Where the repository configuration is read from. */
export interface ConfigLocation {
  /** Absolute path of the file (`--config`, else `<repo>/.upstream-watch.yaml`). */
  path: string;
  /** The file as named in messages. */
  file: string;
  /** True: `.upstream-watch.yaml` is read from the commit's git objects, not from `path`. */
  fromGit: boolean;
}

/** The one repository configuration in effect, and where it is read from. */
export class ConfigInEffect implements ConfigLocation {
  readonly path: string;
  readonly file: string;
  readonly fromGit: boolean;
  #current: RepoConfig;

  constructor(initial: RepoConfig, location: ConfigLocation) {
    this.#current = initial;
    this.path = location.path;
    this.file = location.file;
    this.fromGit = location.fromGit;
  }

  /** The configuration in effect now. */
  get current(): RepoConfig {
    return this.#current;
  }

  /** Puts `config` in effect (read again after the work tree moved). */
  replace(config: RepoConfig): void {
    this.#current = config;
  }
}
