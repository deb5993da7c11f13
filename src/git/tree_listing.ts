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

/** One path that differs between two commits, as `git diff-tree --raw` prints it. */
export interface PathChange {
  path: string;
  /** The mode before and after; `000000` where the path is absent. */
  oldMode: string;
  newMode: string;
  /** The object id before and after; all zeros where the path is absent. */
  oldId: string;
  newId: string;
  /** `A`dded, `M`odified, `D`eleted, `T`ype changed. */
  status: string;
}

/**
 * `git diff-tree --stdin -r -z --raw --always` output for input lines
 * `<to> <base>` (a commit and the one it is compared against, as for a commit
 * and its parent): the changes from each base, in input order. Each section
 * is `to`'s id, then a `:modes ids status` header and a path per change.
 */
export function parseRawDiffSections(
  stdout: string,
  to: string,
  bases: readonly string[],
): Map<string, PathChange[]> {
  const result = new Map<string, PathChange[]>();
  const tokens = stdout.split("\0");
  let changes: PathChange[] | undefined;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index].replace(/^\n/, "");
    if (token === "") continue;
    if (token.startsWith(":") && changes) {
      const [oldMode, newMode, oldId, newId, status] = token.slice(1).split(
        " ",
      );
      changes.push({
        path: tokens[++index],
        oldMode,
        newMode,
        oldId,
        newId,
        status,
      });
    } else if (token === to && result.size < bases.length) {
      changes = [];
      result.set(bases[result.size], changes);
    } else {
      throw new Error(`git diff-tree printed ${JSON.stringify(token)}`);
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
 * Of a diff's changes, those of `<folder>/<fileName>` files: each such path's
 * mode after the change, null when deleted; undefined when one is anything
 * else (a path below such a name, a submodule), which needs a whole listing.
 */
export function folderFileChanges(
  changes: readonly PathChange[],
  fileName: string,
): Map<string, string | null> | undefined {
  const found = new Map<string, string | null>();
  for (const { path, oldMode, newMode, status } of changes) {
    const slash = path.indexOf("/");
    if (slash <= 0) continue;
    const rest = path.slice(slash + 1);
    if (rest.startsWith(`${fileName}/`)) return undefined;
    if (rest !== fileName) continue;
    const deleted = status === "D";
    if (
      (oldMode !== "000000" && !FILE_MODES.has(oldMode)) ||
      (!deleted && !FILE_MODES.has(newMode))
    ) {
      return undefined;
    }
    found.set(path, deleted ? null : newMode);
  }
  return found;
}
