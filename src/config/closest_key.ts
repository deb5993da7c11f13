/**
 * Finds the valid key an operator most likely meant when writing an unknown
 * one, for "did you mean" hints.
 *
 * A candidate matches when, after folding case, dashes and camelCase to
 * snake_case, it is equal to the input, within a small edit distance
 * (adjacent swaps count as one edit), or one contains the other and the
 * shorter has at least five characters (`update` → `update_commands`).
 */
export function closestKey(
  input: string,
  candidates: readonly string[],
): string | undefined {
  const wanted = foldKey(input);
  if (wanted === "") return undefined;
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const folded = foldKey(candidate);
    const score = matchScore(wanted, folded);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** Lower score is a better match; Infinity is no match. */
function matchScore(wanted: string, candidate: string): number {
  if (wanted === candidate) return 0;
  const distance = editDistance(wanted, candidate);
  const shorter = Math.min(wanted.length, candidate.length);
  const allowed = shorter <= 4 ? 1 : 2;
  if (distance <= allowed) return distance;
  // Containment ranks after every small typo.
  if (
    shorter >= 5 &&
    (candidate.includes(wanted) || wanted.includes(candidate))
  ) {
    return 10 + Math.abs(candidate.length - wanted.length);
  }
  return Infinity;
}

/** `retryInterval`, `Retry-Interval` and `retry_interval` fold alike. */
function foldKey(key: string): string {
  return key
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[-\s.]+/g, "_");
}

/** Optimal string alignment distance (Levenshtein plus adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from(
    { length: rows },
    () => new Array<number>(cols).fill(0),
  );
  for (let i = 0; i < rows; i++) d[i][0] = i;
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + cost,
      );
      if (
        i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]
      ) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[rows - 1][cols - 1];
}
