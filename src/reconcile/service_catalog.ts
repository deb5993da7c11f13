/**
 * The services of a commit, parsed once per commit: an idle cycle reads no
 * file and starts no extra git process (docs/design.md#idle-cost).
 * @module
 */
import type { RepoConfig } from "../config/types.ts";
import { SERVICE_CONFIG_FILE } from "../config/types.ts";
import type { GitClient, TreeEntry } from "../git/git_client.ts";
import { logConfigWarnings } from "../log/config_warnings.ts";
import type { Logger } from "../log/logging.ts";
import type { StateStore } from "../state/store.ts";
import { VERSION } from "../version.ts";
import { markDependencyErrors } from "./dependencies.ts";
import {
  deserializeParsedHookFile,
  discoverServices,
  listHookFiles,
  type ParsedHookFile,
  serializeParsedHookFile,
  type ServiceEntry,
  servicesFromHookFiles,
} from "./services.ts";

/** Services by commit, with the parsed hook files kept in memory and in the state database. */
export class ServiceCatalog {
  readonly #git: GitClient;
  readonly #store: StateStore;
  readonly #logger: Logger;
  #servicesAt?: { commit: string; services: ServiceEntry[] };
  /** The newest commit's hook files by folder, under the listing options they were read with. */
  #listing?: {
    commit: string;
    options: string;
    hookFiles: Map<string, TreeEntry>;
    services: ServiceEntry[];
  };
  /** Parsed hook files by blob id and path: a HEAD move re-parses only the hook files it changed. */
  #parsed = new Map<string, ParsedHookFile>();
  #parsedLoaded = false;

  constructor(deps: { git: GitClient; store: StateStore; logger: Logger }) {
    this.#git = deps.git;
    this.#store = deps.store;
    this.#logger = deps.logger;
  }

  /** Every service at `commit` (all hosts), read under `config`. */
  async services(commit: string, config: RepoConfig): Promise<ServiceEntry[]> {
    if (this.#servicesAt?.commit === commit) return this.#servicesAt.services;
    const store = this.#store;
    if (!this.#parsedLoaded) {
      // What a writer parsed before: `status` at 1,000 services need not parse 1,000 YAML files.
      for (const [key, text] of store.parsedHookFiles(VERSION)) {
        this.#parsed.set(key, deserializeParsedHookFile(text));
      }
      this.#parsedLoaded = true;
    }
    const discover = {
      commit,
      config,
      parsed: this.#parsed,
      onSkippedFolder: (folder: string) =>
        this.#logger.debug(
          "{folder}/ has no {file}: not a service",
          { folder, file: SERVICE_CONFIG_FILE },
        ),
    };
    const listingOptions = listingOptionsOf(config);
    const previous = this.#listing?.options === listingOptions
      ? this.#listing
      : undefined;
    let hookFiles: Map<string, TreeEntry> | undefined;
    if (previous && !config.singleDirectoryMode) {
      hookFiles = await this.#hookFilesFrom(previous, commit, config);
    }
    if (hookFiles === previous?.hookFiles && previous) {
      // No hook file changed: the services (and their warnings, logged when
      // they were read) are those of the previous commit.
      this.#listing = { ...previous, commit };
      this.#servicesAt = { commit, services: previous.services };
      return previous.services;
    }
    const known = new Set(this.#parsed.keys());
    if (!hookFiles && !config.singleDirectoryMode) {
      hookFiles = await listHookFiles(this.#git, discover);
    }
    const services = hookFiles
      ? await servicesFromHookFiles(this.#git, hookFiles, discover)
      : await discoverServices(this.#git, discover);
    this.#listing = hookFiles
      ? { commit, options: listingOptions, hookFiles, services }
      : undefined;
    const changed = this.#parsed.size !== known.size ||
      [...this.#parsed.keys()].some((key) => !known.has(key));
    if (changed && !store.readOnly) {
      store.saveParsedHookFiles(
        VERSION,
        new Map(
          [...this.#parsed].map((
            [key, parsed],
          ) => [key, serializeParsedHookFile(parsed)]),
        ),
      );
    }
    markDependencyErrors(services);
    for (const service of services) {
      logConfigWarnings(this.#logger, service.warnings, {
        service: service.name,
      });
    }
    this.#servicesAt = { commit, services };
    return services;
  }

  /** The services of `commit` when they are the ones last worked out, else undefined. */
  cached(commit: string): ServiceEntry[] | undefined {
    return this.#servicesAt?.commit === commit
      ? this.#servicesAt.services
      : undefined;
  }

  /**
   * The hook files at `commit` from those of an earlier commit and one diff of
   * the hook files between them: unchanged folders are not listed again. The
   * same map when none changed; undefined when `commit` must be listed whole.
   */
  async #hookFilesFrom(
    previous: { commit: string; hookFiles: Map<string, TreeEntry> },
    commit: string,
    config: RepoConfig,
  ): Promise<Map<string, TreeEntry> | undefined> {
    const changes = await this.#git.changedFolderFiles(
      previous.commit,
      commit,
      SERVICE_CONFIG_FILE,
    );
    if (!changes) return undefined;
    const ignored = new Set(config.ignoreFolders);
    const changed = [...changes.keys()].filter((path) =>
      !ignored.has(path.slice(0, path.indexOf("/")))
    );
    if (changed.length === 0) return previous.hookFiles;
    const listed = await this.#git.treeEntries(
      commit,
      changed.filter((path) => changes.get(path) !== null),
    );
    const hookFiles = new Map(previous.hookFiles);
    for (const path of changed) {
      const folder = path.slice(0, path.indexOf("/"));
      const tree = listed.get(path);
      if (tree === undefined || tree.type !== "blob") {
        hookFiles.delete(folder);
      } else {
        hookFiles.set(folder, tree);
      }
    }
    return hookFiles;
  }
}

/** The options a listing of hook files depends on, as one comparable string. */
function listingOptionsOf(config: RepoConfig): string {
  return JSON.stringify([config.singleDirectoryMode, config.ignoreFolders]);
}
