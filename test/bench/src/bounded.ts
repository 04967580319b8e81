import { Progress } from './progress.js';
import { now } from './time.js';

export interface BoundedOutcome {
  readonly done: number;
  readonly failed: number;
  readonly errors: string[];
  /** True when the deadline stopped the loop before every item was started. */
  readonly timedOut: boolean;
}

/**
 * Runs `fn` over `items` with at most `concurrency` in flight, starting nothing after `deadline`
 * (monotonic ms) or after `maxFailures` failures; shows progress when `label` is given.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
  options: { deadline: number; label?: string; maxFailures?: number },
): Promise<BoundedOutcome> {
  const progress = options.label ? new Progress(options.label, items.length) : undefined;
  const errors: string[] = [];
  let next = 0;
  let done = 0;
  let failed = 0;
  let timedOut = false;
  const maxFailures = options.maxFailures ?? 0;
  const worker = async () => {
    for (;;) {
      if (failed > maxFailures) return;
      if (now() > options.deadline) {
        if (next < items.length) timedOut = true;
        return;
      }
      const index = next;
      if (index >= items.length) return;
      next += 1;
      try {
        await fn(items[index]!, index);
        done += 1;
        progress?.tick();
      } catch (error) {
        failed += 1;
        progress?.tick(false);
        if (errors.length < 10) errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  progress?.finish();
  return { done, failed, errors, timedOut };
}

/** Like forEachBounded, but any failure or timeout is an error (for the setup, which must be complete). */
export async function forEachBoundedStrict<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
  options: { deadline: number; label: string },
): Promise<void> {
  const outcome = await forEachBounded(items, concurrency, fn, { ...options, maxFailures: 0 });
  if (outcome.failed > 0) throw new Error(`${options.label}: ${outcome.failed} failed; first: ${outcome.errors[0] ?? '?'}`);
  if (outcome.timedOut) throw new Error(`${options.label}: deadline reached after ${outcome.done}/${items.length}`);
}
