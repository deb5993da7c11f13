/** Parsing what `git ls-tree` and `git diff-tree --stdin` print. */

/** One entry of `git ls-tree -l`. */
export interface TreeEntry {
  path: string;
  /** `100644`, `100755`, `120000` (symlink), `040000` (tree), `160000` (submodule). */
  mode: string;
  type: string;
  id: string;
  /** Blob size in bytes; null for trees and submodules. */
  size: number | null;
}

/** `git diff-tree --stdin -z --name-only --always` output: the changed paths from each base, in input order. */
export function parseDiffTreeSections(
  stdout: string,
  bases: readonly string[],
): Map<string, string[]> {
  const result = new Map<string, string[]>();
  // Output: `<base>\0path\0path\0<next base>\0…`, in input order.
  let index = -1;
  let paths: string[] = [];
  for (const token of stdout.split("\0")) {
    if (token === "") continue;
    if (index + 1 < bases.length && token === bases[index + 1]) {
      index++;
      paths = [];
      result.set(bases[index], paths);
    } else if (index >= 0) {
      paths.push(token.replace(/^\n/, ""));
    }
  }
  if (result.size !== bases.length) {
    throw new Error(
      `git diff-tree answered for ${result.size} of ${bases.length} commits`,
    );
  }
  return result;
}

/** `git ls-tree -z -d` output: each folder's name and tree id. */
export function parseTopLevelTrees(
  stdout: string,
): { name: string; tree: string }[] {
  return stdout.split("\0").filter((entry) => entry !== "").map((entry) => {
    const tab = entry.indexOf("\t");
    return {
      name: entry.slice(tab + 1),
      tree: entry.slice(0, tab).split(" ")[2],
    };
  });
}

/** `git ls-tree -z -l` output: the entries by path. */
export function parseTreeEntries(stdout: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  for (const record of stdout.split("\0")) {
    if (record === "") continue;
    const tab = record.indexOf("\t");
    const [mode, type, id, size] = record.slice(0, tab).split(/ +/);
    const path = record.slice(tab + 1);
    entries.set(path, {
      path,
      mode,
      type,
      id,
      size: size === "-" ? null : Number(size),
    });
  }
  return entries;
}

/** Modes a regular file or a symlink has in git. */
const FILE_MODES = new Set(["100644", "100755", "120000"]);

/**
 * `git diff-tree -r -z` output limited to `<folder>/<fileName>`: each such
 * path's mode after the change, null when deleted; undefined when an entry is
 * anything else (a path below such a name, a submodule).
 */
export function parseFolderFileChanges(
  stdout: string,
  fileName: string,
): Map<string, string | null> | undefined {
  const changes = new Map<string, string | null>();
  const tokens = stdout.split("\0");
  for (let index = 0; index + 1 < tokens.length; index += 2) {
    const header = tokens[index].replace(/^\n/, "");
    if (header === "") break;
    const path = tokens[index + 1];
    const [oldMode, newMode, , , status] = header.slice(1).split(" ");
    const slash = path.indexOf("/");
    if (
      !header.startsWith(":") || slash <= 0 ||
      path.slice(slash + 1) !== fileName
    ) {
      return undefined;
    }
    const deleted = status === "D";
    if (
      (oldMode !== "000000" && !FILE_MODES.has(oldMode)) ||
      (!deleted && !FILE_MODES.has(newMode))
    ) {
      return undefined;
    }
    changes.set(path, deleted ? null : newMode);
  }
  return changes;
}
