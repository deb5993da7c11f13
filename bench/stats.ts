/** Summaries of repeated measurements and the markdown table they are printed in. */

/** Median, p90 and extremes of repeated measurements. */
export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

/** Summarises `values` (nearest-rank p90; the median of an even count is the mean of the middle two). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) {
    throw new RangeError("Cannot summarize: no values");
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
  const p90 =
    sorted[Math.min(sorted.length - 1, Math.ceil(0.9 * sorted.length) - 1)];
  return {
    n: sorted.length,
    median,
    p90,
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/** Wall-clock time in epoch milliseconds with sub-millisecond resolution (comparable with `date +%s%N`). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Epoch nanoseconds (from `date +%s%N`) as epoch milliseconds. */
export function nsToMs(ns: bigint): number {
  return Number(ns / 1000n) / 1000;
}

/** One row of the results table. */
export interface ResultRow {
  figure: string;
  n: string;
  /** Measured values; a single value is shown as the median with no spread. */
  value: Summary | number | string;
  unit: "ms" | "s" | "MB" | "count" | "bytes" | "";
  /** The floor's median, in the same unit, when the figure has one. */
  floor?: number;
  floorLabel?: string;
  /** Value ÷ floor (or the figure's own reference) when meaningful. */
  ratio?: number;
  target?: string;
  met?: boolean;
}

/** Renders rows as a markdown table. */
export function renderTable(rows: readonly ResultRow[]): string {
  const header = [
    "figure",
    "N",
    "median",
    "p90",
    "min–max",
    "runs",
    "floor (median)",
    "ratio",
    "target",
    "met",
  ];
  const lines = rows.map((row) => {
    const unit = row.unit === "count" || row.unit === "" ? "" : ` ${row.unit}`;
    const fmt = (value: number) => `${formatNumber(value, row.unit)}${unit}`;
    let median: string, p90 = "", range = "", runs = "1";
    if (typeof row.value === "string") {
      median = row.value;
      runs = "";
    } else if (typeof row.value === "number") {
      median = fmt(row.value);
    } else {
      median = fmt(row.value.median);
      p90 = fmt(row.value.p90);
      range = `${formatNumber(row.value.min, row.unit)}–${
        formatNumber(row.value.max, row.unit)
      }`;
      runs = String(row.value.n);
    }
    return [
      row.figure,
      row.n,
      median,
      p90,
      range,
      runs,
      row.floor === undefined
        ? ""
        : `${fmt(row.floor)}${row.floorLabel ? ` (${row.floorLabel})` : ""}`,
      row.ratio === undefined ? "" : `${row.ratio.toFixed(2)}×`,
      row.target ?? "",
      row.met === undefined ? "" : row.met ? "yes" : "**no**",
    ];
  });
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...lines.map((cells) => `| ${cells.map(escape).join(" | ")} |`),
  ].join("\n") + "\n";
}

function formatNumber(value: number, unit: ResultRow["unit"]): string {
  if (unit === "count" || unit === "bytes") {
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
