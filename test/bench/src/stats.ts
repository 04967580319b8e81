/** Summary statistics of a sample (latencies in ms, sizes in bytes, ...). */
export interface Summary {
  readonly count: number;
  readonly min: number | null;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/** Nearest-rank percentile of an ascending sample: the smallest value with at least p % of the sample at or below it. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[sorted.length - 1]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function sortedCopy(values: readonly number[]): number[] {
  return Array.from(Float64Array.from(values).sort());
}

export function summarize(values: readonly number[]): Summary {
  const sorted = sortedCopy(values);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    min: sorted[0] ?? null,
    mean: sorted.length === 0 ? null : sum / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? null,
  };
}

/** Rounds for display and JSON (3 significant decimals is plenty for ms). */
export function round(value: number | null, digits = 3): number | null {
  if (value === null || !Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function roundSummary(summary: Summary, digits = 3): Summary {
  return {
    count: summary.count,
    min: round(summary.min, digits),
    mean: round(summary.mean, digits),
    p50: round(summary.p50, digits),
    p90: round(summary.p90, digits),
    p99: round(summary.p99, digits),
    max: round(summary.max, digits),
  };
}

/** Median of a small sample (e.g. repeated RSS readings). */
export function median(values: readonly number[]): number | null {
  return percentile(sortedCopy(values), 50);
}
