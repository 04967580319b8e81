import { inject } from 'vitest';

/**
 * Proof that a `/sync` long-poll is parked before a test commits what should wake it. Without it,
 * the write may be committed before the long-poll's first read, which then answers with it at
 * once: the test would pass whether or not wake-ups work.
 *
 * The sync API counts every long-poll that begins to wait, its reads having found nothing for it
 * (`mx_sync_long_poll_parks_total`). It is a counter, not the `mx_sync_parked_long_polls` gauge:
 * other test files share the sync API, and their long-polls answering at the same moment can hide
 * a park from a gauge, never from a counter. The proof: the count has risen above a reading taken
 * before the long-poll was sent, and after that the long-poll has still not answered.
 *
 * What it cannot tell is whose park raised the count: when another file's long-poll parks in the
 * few milliseconds between sending ours and ours parking (its token and room reads, no network),
 * the proof comes early. The write that follows takes a broker round trip and a projector commit,
 * so ours has parked long before that write can be committed; and such a race can only make the
 * proof weaker in that one run, never fail a correct test.
 */
export const LONG_POLL_PARKS = 'mx_sync_long_poll_parks_total';

/** `mx_sync_long_poll_parks_total` of a sync API now (the shared stack's by default). */
export async function longPollParks(syncApiUrl: string = inject('stack').syncApiUrl): Promise<number> {
  const response = await fetch(`${syncApiUrl}/metrics`);
  const text = await response.text();
  // The registry's default labels only (service="sync-api"): the counter has none of its own.
  const match = new RegExp(`^${LONG_POLL_PARKS}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  if (response.status !== 200 || !match) throw new Error(`${LONG_POLL_PARKS} missing from ${syncApiUrl}/metrics (${response.status})`);
  return Number(match[1]);
}

/**
 * Waits until the sync API has counted a park since `before` (a reading of `longPollParks` taken
 * before the long-poll was sent) and then checks that the long-poll is still waiting (`answered`
 * false). Fails when the long-poll answers first, or when no park is counted within `timeoutMs`.
 */
export async function waitUntilParked(
  before: number,
  answered: () => string | undefined,
  options: { syncApiUrl?: string; timeoutMs?: number } = {},
): Promise<void> {
  const syncApiUrl = options.syncApiUrl ?? inject('stack').syncApiUrl;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const early = answered();
    if (early !== undefined) throw new Error(`the long-poll answered before it was seen parked: ${early}`);
    const parks = await longPollParks(syncApiUrl);
    if (parks > before) {
      const late = answered();
      if (late !== undefined) throw new Error(`the long-poll answered before it was seen parked: ${late}`);
      return;
    }
    if (Date.now() >= deadline)
      throw new Error(`no long-poll parked at ${syncApiUrl} within ${timeoutMs} ms (${LONG_POLL_PARKS} stayed ${parks})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface ParkedLongPoll<T> {
  /** The long-poll's answer: await it after the write that should wake it. */
  readonly answer: Promise<T>;
}

/**
 * Sends a long-poll (`send`, e.g. `() => sync(user, { since, timeout: 120_000 })`) and resolves
 * once it is parked at the sync API (see `waitUntilParked`); only then may the test write.
 */
export async function parkLongPoll<T>(
  send: () => Promise<T>,
  options: { syncApiUrl?: string; timeoutMs?: number } = {},
): Promise<ParkedLongPoll<T>> {
  const before = await longPollParks(options.syncApiUrl);
  let outcome: string | undefined;
  const answer = send();
  // Handled here too, so a long-poll that fails while the proof fails is not an unhandled rejection.
  answer.then(
    (value) => (outcome = `answered ${JSON.stringify(value ?? null).slice(0, 500)}`),
    (error: unknown) => (outcome = `failed: ${error instanceof Error ? error.message : String(error)}`),
  );
  await waitUntilParked(before, () => outcome, options);
  return { answer };
}
