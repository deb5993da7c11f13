/** Pieces of the Prometheus text format shared by the metrics of `/metrics`. */

/** `a="x",b="y"` with Prometheus label escaping. */
export function labels(values: Record<string, string>): string {
  return Object.entries(values).map(([name, value]) =>
    `${name}="${
      value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll(
        '"',
        '\\"',
      )
    }"`
  ).join(",");
}

/** Adds one to the counter of `key`. */
export function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
