/**
 * The diff from `a` to `c` worked out from the diffs `a → b` and `b → c`,
 * without git: a path differs between `a` and `c` exactly when its mode or
 * object id at `a` differs from the one at `c`, and each side is known from
 * whichever diff has the path (a path in neither is the same in all three).
 * Exact for the recursive leaf diffs `diff-tree -r --raw --no-renames`
 * prints; the result is in git's order (paths by their UTF-8 bytes).
 * @module
 */
import type { PathChange } from "./tree_listing.ts";

/** `a → c` from `a → b` and `b → c`. */
export function composeDiffs(
  first: readonly PathChange[],
  second: readonly PathChange[],
): PathChange[] {
  const later = new Map(second.map((change) => [change.path, change]));
  const composed: PathChange[] = [];
  for (const change of first) {
    const next = later.get(change.path);
    later.delete(change.path);
    const end = next
      ? { mode: next.newMode, id: next.newId }
      : { mode: change.newMode, id: change.newId };
    if (end.mode === change.oldMode && end.id === change.oldId) continue;
    composed.push(between(change.path, change.oldMode, change.oldId, end));
  }
  // Paths only the second diff has are the same at `a` as at `b`.
  for (const change of later.values()) composed.push(change);
  return composed.sort((x, y) => compareCodePoints(x.path, y.path));
}

function between(
  path: string,
  oldMode: string,
  oldId: string,
  end: { mode: string; id: string },
): PathChange {
  const status = oldMode === ABSENT
    ? "A"
    : end.mode === ABSENT
    ? "D"
    : modeType(oldMode) !== modeType(end.mode)
    ? "T"
    : "M";
  return { path, oldMode, newMode: end.mode, oldId, newId: end.id, status };
}

const ABSENT = "000000";

/** `100`… a file, `120`… a symlink, `160`… a submodule. */
function modeType(mode: string): string {
  return mode.slice(0, 3);
}

/** Orders strings by code point, which is the order of their UTF-8 bytes (git's order). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    // A surrogate (U+D800–DFFF) stands for a code point above U+FFFF.
    const xHigh = x >= 0xd800 && x <= 0xdfff;
    const yHigh = y >= 0xd800 && y <= 0xdfff;
    if (xHigh !== yHigh) return xHigh ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
