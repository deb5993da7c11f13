/**
 * The services of a commit, parsed once per commit: an idle cycle reads no
 * file and starts no extra git process (docs/design.md#idle-cost).
 * @module
 */
import type { RepoConfig } from "../config/types.ts";
import { SERVICE_CONFIG_FILE } from "../config/types.ts";
import type { GitClient } from "../git/git_client.ts";
import { logConfigWarnings } from "../log/config_warnings.ts";
import type { Logger } from "../log/logging.ts";
import type { StateStore } from "../state/store.ts";
import { VERSION } from "../version.ts";
import { markDependencyErrors } from "./dependencies.ts";
import {
  deserializeParsedHookFile,
  discoverServices,
  type ParsedHookFile,
  serializeParsedHookFile,
  type ServiceEntry,
} from "./services.ts";

/** Services by commit, with the parsed hook files kept in memory and in the state database. */
export class ServiceCatalog {
  readonly #git: GitClient;
  readonly #store: StateStore;
  readonly #logger: Logger;
  #servicesAt?: { commit: string; services: ServiceEntry[] };
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
    const known = new Set(this.#parsed.keys());
    const services = await discoverServices(this.#git, {
      commit,
      config,
      parsed: this.#parsed,
      onSkippedFolder: (folder) =>
        this.#logger.debug(
          "{folder}/ has no {file}: not a service",
          { folder, file: SERVICE_CONFIG_FILE },
        ),
    });
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
}
