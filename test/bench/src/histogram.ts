/** Binning for the plots: histograms of a sample, its empirical CDF, and counts per time bucket. */
export interface Histogram {
  /** bins + 1 ascending edges; bin i covers [edges[i], edges[i+1]) and the last bin includes its upper edge. */
  readonly edges: number[];
  readonly counts: number[];
  /** Values outside [min, max] (none when the range is taken from the data). */
  readonly outside: number;
}

export function histogram(values: readonly number[], bins: number, range?: { min: number; max: number }): Histogram {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  let min = range?.min ?? Infinity;
  let max = range?.max ?? -Infinity;
  if (!range)
    for (const value of values) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    min = 0;
    max = 1;
  }
  if (max === min) max = min + 1;
  const width = (max - min) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : min + i * width));
  const counts = new Array<number>(bins).fill(0);
  let outside = 0;
  for (const value of values) {
    if (value < min || value > max || Number.isNaN(value)) {
      outside += 1;
      continue;
    }
    const index = Math.min(bins - 1, Math.floor((value - min) / width));
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return { edges, counts, outside };
}

/** Points (value, fraction of the sample at or below it) of the empirical CDF, thinned to at most `points`. */
export function cdfPoints(sorted: readonly number[], points = 200): { x: number; y: number }[] {
  const n = sorted.length;
  if (n === 0) return [];
  const step = Math.max(1, Math.floor(n / points));
  const result: { x: number; y: number }[] = [];
  for (let i = step - 1; i < n; i += step) result.push({ x: sorted[i]!, y: (i + 1) / n });
  if (result.at(-1)?.y !== 1) result.push({ x: sorted[n - 1]!, y: 1 });
  return result;
}

/** Counts per bucket of `bucketMs` from `start` over `durationMs` (times outside are dropped). */
export function countsPerBucket(times: readonly number[], start: number, durationMs: number, bucketMs: number): number[] {
  const buckets = Math.max(1, Math.ceil(durationMs / bucketMs));
  const counts = new Array<number>(buckets).fill(0);
  for (const time of times) {
    const index = Math.floor((time - start) / bucketMs);
    if (index >= 0 && index < buckets) counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts;
}
