/**
 * Step `decrypt`: a service's SOPS files read from the run's commit (git
 * objects, never the work tree), decrypted, and written atomically beside
 * them, each listed in `.git/info/exclude`. Nothing is written unless every
 * file decrypted. See docs/secrets.md#when-files-are-decrypted.
 * @module
 */
import { dirname, join, posix, relative } from "node:path";
import type { SecretFile, ServiceConfig } from "../config/types.ts";
import type { GitClient } from "../git/git_client.ts";
import { dotenvVariables } from "../secrets/dotenv_format.ts";
import type { HostKeySource } from "../secrets/host_keys.ts";
import { SecretError } from "../secrets/secret_error.ts";

/** Where a run's secrets come from and go to. */
export interface SecretsContext {
  git: GitClient;
  /** The commit whose objects hold the encrypted files (a rollback's: the old one). */
  commit: string;
  /** Absolute work tree root. */
  repoRoot: string;
  /** The service folder, repo-relative (`.` in single-directory mode). */
  dir: string;
  /** git's common dir: its `info/exclude` lists the decrypted files. */
  gitCommonDir: string;
  keys: HostKeySource;
}

/** What the host gives every run's decrypt step: its keys and where git keeps `info/exclude`. */
export interface SecretsHost {
  keys: HostKeySource;
  gitCommonDir: string;
}

/** The decrypt context of one run: `host`'s keys, `dir`'s secrets at `commit`. */
export function secretsAt(
  host: SecretsHost | undefined,
  run: { git: GitClient; commit: string; repoRoot: string; dir: string },
): SecretsContext | undefined {
  return host && { ...run, ...host };
}

/** One file written by the step, for the run's record: names and size, never content. */
export interface DecryptedFile {
  file: string;
  to?: string;
  bytes: number;
}

/** How step `decrypt` ended. */
export type DecryptOutcome =
  | {
    kind: "decrypted";
    files: DecryptedFile[];
    /** Decrypted values a hook's output is masked with. */
    masks: string[];
    /** The `env_from` file's variables; empty without one. */
    env: Record<string, string>;
  }
  | { kind: "failed"; message: string };

/** Values shorter than this are not masked: `1` or `yes` would blot out unrelated output. */
export const MIN_MASKED_LENGTH = 4;

/** The header line of the exclude entries this step adds. */
const EXCLUDE_HEADER = "# upstream-watch decrypted secrets";

/** Decrypts and writes the service's secrets; a failure writes nothing and names file and reason. */
export async function decryptSecrets(
  config: ServiceConfig,
  context: SecretsContext,
): Promise<DecryptOutcome> {
  const secrets = config.secrets ?? [];
  if (secrets.length === 0) {
    return { kind: "decrypted", files: [], masks: [], env: {} };
  }
  try {
    const { decrypted, masks } = await decryptAll(secrets, context);
    const envFrom = decrypted.find(({ secret }) =>
      secret.file === config.envFrom
    );
    const env = envFrom
      ? dotenvVariables(new TextDecoder().decode(envFrom.content))
      : {};
    const files: DecryptedFile[] = [];
    for (const { secret, content } of decrypted) {
      if (secret.to !== undefined) {
        await writeAtomically(context, secret.to, content, secret.mode);
      }
      files.push({ file: secret.file, to: secret.to, bytes: content.length });
    }
    await excludeFromGit(
      context,
      secrets.flatMap((secret) =>
        secret.to ? [repoPath(context, secret.to)] : []
      ),
    );
    return {
      kind: "decrypted",
      files,
      masks: [...masks].sort((a, b) => b.length - a.length),
      env,
    };
  } catch (error) {
    if (error instanceof SecretError) {
      return { kind: "failed", message: `decrypt: ${error.message}` };
    }
    throw error;
  }
}

/** Decrypts the service's secrets at the commit without writing anything (`validate`); the first problem as one line. */
export async function checkSecrets(
  config: ServiceConfig,
  context: SecretsContext,
): Promise<string | undefined> {
  if (!config.secrets?.length) return undefined;
  try {
    await decryptAll(config.secrets, context);
    return undefined;
  } catch (error) {
    if (error instanceof SecretError) return error.message;
    throw error;
  }
}

/** Every secret read from the commit and decrypted, in memory. */
async function decryptAll(
  secrets: readonly SecretFile[],
  context: SecretsContext,
): Promise<{
  decrypted: { secret: SecretFile; content: Uint8Array }[];
  masks: Set<string>;
}> {
  // Loaded with the first secret: its AES-GCM (node:crypto) and format
  // parsers cost every other command start-up time.
  const { decryptSops } = await import("../secrets/decrypt_sops.ts");
  const keys = await context.keys.load();
  const encrypted = await readEncrypted(secrets, context);
  const decrypted: { secret: SecretFile; content: Uint8Array }[] = [];
  const masks = new Set<string>();
  for (const secret of secrets) {
    const result = await decryptSops(encrypted.get(secret.file)!, {
      file: repoPath(context, secret.file),
      format: secret.format,
      keys,
    });
    for (const value of result.values) addMasks(masks, value);
    if (secret.format === "binary") {
      addMasks(masks, new TextDecoder().decode(result.content));
    }
    decrypted.push({ secret, content: result.content });
  }
  return { decrypted, masks };
}

/** Removes a removed service's decrypted files (the encrypted ones went with the commit). */
export async function removeDecryptedSecrets(
  config: ServiceConfig,
  options: { repoRoot: string; dir: string },
): Promise<string[]> {
  const removed: string[] = [];
  for (const secret of config.secrets ?? []) {
    if (secret.to === undefined) continue;
    const path = join(options.repoRoot, options.dir, secret.to);
    try {
      const info = await Deno.lstat(path);
      if (!info.isFile) continue;
      await Deno.remove(path);
      removed.push(posix.join(options.dir, secret.to));
      await removeEmptyFolders(
        dirname(path),
        join(options.repoRoot, options.dir),
      );
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return removed;
}

/** Removes `folder` and its parents up to and including `top` while they are empty. */
async function removeEmptyFolders(folder: string, top: string): Promise<void> {
  for (let current = folder;; current = dirname(current)) {
    try {
      await Deno.remove(current);
    } catch {
      return;
    }
    if (current === top || relative(top, current).startsWith("..")) return;
  }
}

/** Masks `value`, and each of its lines, in hook output. */
function addMasks(masks: Set<string>, value: string): void {
  for (const part of [value, ...value.split(/\r?\n/)]) {
    if (part.trim().length >= MIN_MASKED_LENGTH) masks.add(part);
  }
}

/** The encrypted files' text at the commit; each must be a regular file there, each target untracked. */
async function readEncrypted(
  secrets: readonly SecretFile[],
  context: SecretsContext,
): Promise<Map<string, string>> {
  const paths = secrets.flatMap((secret) => [
    repoPath(context, secret.file),
    ...(secret.to ? [repoPath(context, secret.to)] : []),
  ]);
  const entries = await context.git.treeEntries(context.commit, paths);
  const blobs: { id: string; size: number }[] = [];
  for (const secret of secrets) {
    const file = repoPath(context, secret.file);
    const entry = entries.get(file);
    if (!entry) {
      throw new SecretError(
        file,
        `not in commit ${context.commit.slice(0, 7)}`,
      );
    }
    if (entry.type !== "blob" || entry.mode === "120000") {
      throw new SecretError(
        file,
        "is not a regular file in the commit (a symlink or folder)",
      );
    }
    if (secret.to && entries.has(repoPath(context, secret.to))) {
      throw new SecretError(
        file,
        `its target ${
          repoPath(context, secret.to)
        } is tracked by git; the decrypted file must not be committed`,
      );
    }
    blobs.push({ id: entry.id, size: entry.size ?? 0 });
  }
  const texts = await context.git.readBlobs(blobs);
  const byFile = new Map<string, string>();
  for (const secret of secrets) {
    const entry = entries.get(repoPath(context, secret.file))!;
    const text = texts.get(entry.id);
    if (text === null || text === undefined) {
      throw new SecretError(
        repoPath(context, secret.file),
        "is not UTF-8 text",
      );
    }
    byFile.set(secret.file, text);
  }
  return byFile;
}

/** Writes `content` to a temporary file beside the target, then renames it over the target. */
async function writeAtomically(
  context: SecretsContext,
  to: string,
  content: Uint8Array,
  mode: number,
): Promise<void> {
  const serviceDir = join(context.repoRoot, context.dir);
  const target = join(serviceDir, to);
  const folder = dirname(target);
  await Deno.mkdir(folder, { recursive: true, mode: 0o700 });
  // A committed symlink on the way must not lead the plaintext out of the folder.
  const real = relative(
    await Deno.realPath(serviceDir),
    await Deno.realPath(folder),
  );
  if (real.startsWith("..")) {
    throw new SecretError(
      repoPath(context, to),
      "its folder leads outside the service folder (a symlink)",
    );
  }
  const temporary = join(
    folder,
    `.${to.split("/").at(-1)}.upstream-watch-${crypto.randomUUID()}`,
  );
  try {
    const file = await Deno.open(temporary, {
      write: true,
      createNew: true,
      mode,
    });
    try {
      let written = 0;
      while (written < content.length) {
        written += await file.write(content.subarray(written));
      }
      await file.sync();
    } finally {
      file.close();
    }
    // The umask may have narrowed the mode; `mode` is what was asked for.
    // Windows has no permission bits: the file inherits the folder's ACL.
    if (Deno.build.os !== "windows") await Deno.chmod(temporary, mode);
    await Deno.rename(temporary, target);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new SecretError(
      repoPath(context, to),
      `cannot write the decrypted file: ${
        error instanceof Error ? error.message : error
      }`,
    );
  }
}

/** Adds each path to `.git/info/exclude` once, so the work tree stays clean. */
async function excludeFromGit(
  context: SecretsContext,
  paths: readonly string[],
): Promise<void> {
  if (paths.length === 0) return;
  const file = join(context.gitCommonDir, "info", "exclude");
  let current = "";
  try {
    current = await Deno.readTextFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(dirname(file), { recursive: true });
  }
  const lines = new Set(current.split(/\r?\n/));
  const missing = paths.map((path) => `/${path}`).filter((line) =>
    !lines.has(line)
  );
  if (missing.length === 0) return;
  const header = lines.has(EXCLUDE_HEADER) ? [] : [EXCLUDE_HEADER];
  const separator = current === "" || current.endsWith("\n") ? "" : "\n";
  await Deno.writeTextFile(
    file,
    `${current}${separator}${[...header, ...missing].join("\n")}\n`,
  );
}

function repoPath(context: SecretsContext, path: string): string {
  return posix.join(context.dir, path);
}
