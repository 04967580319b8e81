/** A reading over time: `t` in ms since the phase started, `value` or null when nothing answered. */
export interface TimedValue {
  readonly t: number;
  readonly value: number | null;
}

/**
 * When a disturbed value came back: the first time at or after `from` where it stays at or below
 * `threshold` for at least `holdMs` of readings (a reading of null never counts as back). Null
 * when it never settled within the readings.
 */
export function settledAt(samples: readonly TimedValue[], from: number, threshold: number, holdMs: number): number | null {
  let start: number | null = null;
  for (const sample of samples) {
    if (sample.t < from) continue;
    if (sample.value !== null && sample.value <= threshold) {
      start ??= sample.t;
      if (sample.t - start >= holdMs) return start;
    } else {
      start = null;
    }
  }
  return null;
}

/** The largest value in [from, to], or null when none was read. */
export function peak(samples: readonly TimedValue[], from: number, to: number): number | null {
  let best: number | null = null;
  for (const sample of samples) {
    if (sample.t < from || sample.t > to || sample.value === null) continue;
    best = best === null ? sample.value : Math.max(best, sample.value);
  }
  return best;
}

/**
 * How long a disturbance at `from` lasted: from `from` until the value, after its peak in
 * [from, to], stays at or below `threshold` for `holdMs`. Zero when it never rose above the
 * threshold; null when it had not settled by the last reading.
 */
export function recoveryAfter(samples: readonly TimedValue[], from: number, to: number, threshold: number, holdMs: number): number | null {
  let peakT: number | null = null;
  let peakValue = -Infinity;
  for (const sample of samples) {
    if (sample.t < from || sample.t > to || sample.value === null) continue;
    if (sample.value > peakValue) {
      peakValue = sample.value;
      peakT = sample.t;
    }
  }
  if (peakT === null || peakValue <= threshold) return 0;
  const settled = settledAt(samples, peakT, threshold, holdMs);
  return settled === null ? null : settled - from;
}
