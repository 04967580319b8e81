import { every } from './progress.js';
import { now } from './time.js';

export interface Attempt {
  readonly ok: boolean;
  readonly status: number;
  /** Latency of the answered attempt, ms. */
  readonly ms: number;
  readonly rateLimited: number;
}

export interface ClosedLoopResult {
  readonly ok: number;
  readonly failed: number;
  /** Latencies of successful requests, ms. */
  readonly latencies: number[];
  /** Completion times of successful requests (monotonic ms). */
  readonly completions: number[];
  readonly statuses: Record<string, number>;
  readonly rateLimited: number;
  readonly errors: string[];
  readonly startedAt: number;
  readonly durationMs: number;
  /** Successful requests per second over the whole run. */
  readonly perSecond: number;
}

/**
 * `concurrency` workers each issue one request after another until `durationMs` passed or
 * `maxCount` requests were started (both bounds always apply).
 */
export async function closedLoop(options: {
  concurrency: number;
  durationMs: number;
  maxCount: number;
  label: string;
  op: (worker: number, seq: number) => Promise<Attempt>;
}): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  const completions: number[] = [];
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  let ok = 0;
  let failed = 0;
  let rateLimited = 0;
  let started = 0;
  const startedAt = now();
  const end = startedAt + options.durationMs;
  const stopProgress = every(2000, () => {
    const elapsed = (now() - startedAt) / 1000;
    return `${options.label}: ${ok} ok, ${failed} failed, ${rateLimited} × 429 in ${elapsed.toFixed(1)} s (${(ok / Math.max(elapsed, 0.001)).toFixed(0)}/s)`;
  });
  const worker = async (index: number) => {
    while (now() < end && started < options.maxCount) {
      const seq = started;
      started += 1;
      try {
        const attempt = await options.op(index, seq);
        rateLimited += attempt.rateLimited;
        statuses.set(attempt.status, (statuses.get(attempt.status) ?? 0) + 1);
        if (attempt.ok) {
          ok += 1;
          latencies.push(attempt.ms);
          completions.push(now());
        } else failed += 1;
      } catch (error) {
        failed += 1;
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
        if (errors.length < 10) errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  stopProgress();
  const durationMs = now() - startedAt;
  return {
    ok,
    failed,
    latencies,
    completions,
    statuses: Object.fromEntries([...statuses].map(([status, count]) => [String(status), count])),
    rateLimited,
    errors,
    startedAt,
    durationMs,
    perSecond: ok / (durationMs / 1000),
  };
}
