import { ConfigError, UsageError } from "../errors.ts";
import { parseServiceConfig } from "../config/load.ts";
import {
  type ConfigWarning,
  type RepoConfig,
  SERVICE_CONFIG_FILE,
  type ServiceConfig,
  SINGLE_SERVICE_NAME,
} from "../config/types.ts";
import { committedFileProblem, NOT_UTF8 } from "../config/committed.ts";
import type { GitClient, TreeEntry } from "../git/git_client.ts";
import type { ServiceTarget } from "./due.ts";

/** A service found at a commit, with its parsed hook file or the error that file has. */
export interface ServiceEntry {
  name: string;
  /** Repo-relative folder; `.` in single-directory mode. */
  dir: string;
  /** Repo-relative path of its `.update-hooks.yaml`. */
  configFile: string;
  config?: ServiceConfig;
  /** Set when the hook file is invalid: this service fails, the others still run. */
  error?: ConfigError;
  warnings: ConfigWarning[];
}

/** Options of {@link discoverServices}. */
export interface DiscoverOptions {
  commit: string;
  config: RepoConfig;
  /** Told about each top-level folder without a hook file (logged at debug level, see docs/design.md#services). */
  onSkippedFolder?: (folder: string) => void;
  /** Hook files parsed before, by `blob:path`; updated to hold exactly this commit's. */
  parsed?: Map<string, ParsedHookFile>;
}

/** What parsing one hook file gave. */
export type ParsedHookFile = Pick<
  ServiceEntry,
  "config" | "error" | "warnings"
>;

/** A parsed hook file as JSON, for the state database's cache. */
export function serializeParsedHookFile(parsed: ParsedHookFile): string {
  return JSON.stringify({
    config: parsed.config,
    error: parsed.error
      ? { reason: parsed.error.reason, location: parsed.error.location }
      : undefined,
    warnings: parsed.warnings,
  });
}

/** The inverse of {@link serializeParsedHookFile}. */
export function deserializeParsedHookFile(text: string): ParsedHookFile {
  const { config, error, warnings } = JSON.parse(text);
  return {
    config,
    error: error ? new ConfigError(error.reason, error.location) : undefined,
    warnings,
  };
}

/** The services of a commit (top-level folders holding a hook file, or the root in single-directory mode; docs/design.md#services). */
export async function discoverServices(
  git: GitClient,
  options: DiscoverOptions,
): Promise<ServiceEntry[]> {
  if (options.config.singleDirectoryMode) {
    const entry = (await git.treeEntries(options.commit, [
      SERVICE_CONFIG_FILE,
    ])).get(SERVICE_CONFIG_FILE);
    if (entry === undefined || entry.type !== "blob") {
      return [{
        name: SINGLE_SERVICE_NAME,
        dir: SINGLE_SERVICE_NAME,
        configFile: SERVICE_CONFIG_FILE,
        error: new ConfigError(
          "single_directory_mode is on but the repository root has no hook file",
          { file: SERVICE_CONFIG_FILE },
        ),
        warnings: [],
      }];
    }
    return await loadEntries(git, [{
      name: SINGLE_SERVICE_NAME,
      dir: SINGLE_SERVICE_NAME,
      configFile: SERVICE_CONFIG_FILE,
      tree: entry,
    }], options);
  }
  const hookFiles = await listHookFiles(git, options);
  return await servicesFromHookFiles(git, hookFiles, options);
}

/**
 * Each top-level folder's hook file at a commit, by folder name, as listed in
 * its tree (folders without one are told to `onSkippedFolder`).
 */
export async function listHookFiles(
  git: GitClient,
  options: DiscoverOptions,
): Promise<Map<string, TreeEntry>> {
  const ignored = new Set(options.config.ignoreFolders);
  const folders = (await git.topLevelTrees(options.commit)).filter((folder) =>
    !ignored.has(folder.name)
  );
  // One `ls-tree` for every folder's hook file gives mode and size, so a
  // symlink or an oversized file is refused before any content is read.
  const listed = await git.treeEntries(
    options.commit,
    folders.map((folder) => `${folder.name}/${SERVICE_CONFIG_FILE}`),
  );
  const hookFiles = new Map<string, TreeEntry>();
  for (const folder of folders) {
    const tree = listed.get(`${folder.name}/${SERVICE_CONFIG_FILE}`);
    if (tree === undefined || tree.type !== "blob") {
      options.onSkippedFolder?.(folder.name);
      continue;
    }
    hookFiles.set(folder.name, tree);
  }
  return hookFiles;
}

/** The services of a commit whose hook files (by folder) are known already. */
export async function servicesFromHookFiles(
  git: GitClient,
  hookFiles: ReadonlyMap<string, TreeEntry>,
  options: DiscoverOptions,
): Promise<ServiceEntry[]> {
  const found: FoundHookFile[] = [...hookFiles].map(([name, tree]) => ({
    name,
    dir: name,
    configFile: `${name}/${SERVICE_CONFIG_FILE}`,
    tree,
  }));
  found.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return await loadEntries(git, found, options);
}

/** A service's hook file as listed in the commit's tree. */
interface FoundHookFile {
  name: string;
  dir: string;
  configFile: string;
  tree: TreeEntry;
}

async function loadEntries(
  git: GitClient,
  found: readonly FoundHookFile[],
  options: DiscoverOptions,
): Promise<ServiceEntry[]> {
  const previous = options.parsed ?? new Map<string, ParsedHookFile>();
  const current = new Map<string, ParsedHookFile>();
  const problems = new Map(
    found.map((file) => [file.name, committedFileProblem(file.tree)]),
  );
  const key = (file: FoundHookFile) => `${file.tree.id}:${file.name}`;
  // Only hook files parsed before under the same blob skip the read.
  const toRead = found.filter((file) =>
    problems.get(file.name) === undefined && !previous.has(key(file))
  );
  const texts = await git.readBlobs(
    toRead.map((file) => ({ id: file.tree.id, size: file.tree.size! })),
  );
  const entries = found.map((file): ServiceEntry => {
    const { name, dir, configFile } = file;
    const problem = problems.get(name);
    if (problem !== undefined) {
      return {
        name,
        dir,
        configFile,
        error: new ConfigError(problem, { file: configFile }),
        warnings: [],
      };
    }
    const parsed = previous.get(key(file)) ??
      parseHookFile(texts.get(file.tree.id), configFile);
    current.set(key(file), parsed);
    return { name, dir, configFile, ...parsed };
  });
  if (options.parsed) {
    options.parsed.clear();
    for (const [name, value] of current) options.parsed.set(name, value);
  }
  return entries;
}

function parseHookFile(
  text: string | null | undefined,
  configFile: string,
): ParsedHookFile {
  if (text === null || text === undefined) {
    return {
      error: new ConfigError(NOT_UTF8, { file: configFile }),
      warnings: [],
    };
  }
  try {
    const { config, warnings } = parseServiceConfig(text, configFile);
    return { config, warnings };
  } catch (error) {
    if (error instanceof ConfigError) return { error, warnings: [] };
    throw error;
  }
}

/**
 * True when the service is handled on `host` (no `hosts` list means every host).
 * Names compare case-insensitively, and a listed short name also matches the
 * host's fully qualified name (`web-1` matches `web-1.example.com`, macOS's `web-1.local`).
 */
export function runsOnHost(entry: ServiceEntry, host: string): boolean {
  const hosts = entry.config?.hosts;
  if (hosts === undefined) return true;
  const full = host.toLowerCase();
  const short = full.split(".")[0];
  return hosts.some((name) => {
    const listed = name.toLowerCase();
    return listed === full || (!listed.includes(".") && listed === short);
  });
}

/** What the due decision needs of a service: its name, folder and `watch_paths`. */
export function serviceTarget(entry: ServiceEntry): ServiceTarget {
  return {
    name: entry.name,
    dir: entry.dir,
    watchPaths: entry.config?.watchPaths ?? [],
  };
}

/** The paths whose changes concern the service: its folder and its `watch_paths`. */
export function servicePaths(entry: ServiceEntry): string[] {
  return [entry.dir, ...(entry.config?.watchPaths ?? [])];
}

/** The named services (or all), in the order given; an unknown name is a usage error listing the known ones. */
export function selectServices(
  services: readonly ServiceEntry[],
  names: readonly string[] | "all",
): ServiceEntry[] {
  if (names === "all") return [...services];
  const byName = new Map(services.map((entry) => [entry.name, entry]));
  const unknown = names.filter((name) => !byName.has(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown service${unknown.length > 1 ? "s" : ""} ${
        unknown.join(", ")
      }; known services on this host: ${
        [...byName.keys()].join(", ") || "(none)"
      }`,
    );
  }
  return [...new Set(names)].map((name) => byName.get(name)!);
}
