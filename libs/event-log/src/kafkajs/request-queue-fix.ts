import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 (unmaintained; tulios/kafkajs#1751, #1704) re-arms a check of its pending requests
 * after every response with `throttledUntil - Date.now()` as the delay. Unthrottled,
 * `throttledUntil` is -1, so the delay is minus the epoch: Node prints a TimeoutNegativeWarning,
 * runs the check after 1 ms, and the check re-arms itself, forever, on every broker connection
 * (about 900 wake-ups a second per connection, doing nothing).
 *
 * This replaces that method: nothing is scheduled while nothing is pending (a request pushed
 * later is sent or queued by push(), and every response checks the queue again); pending
 * requests are checked when the client-side throttle ends, or after kafkajs's own 10 ms interval.
 * Applied once, when a kafkajs client is created here, and only to the exact code it fixes.
 */
interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
let applied = false;

export function fixKafkajsRequestQueue(): void {
  if (applied) return;
  applied = true;
  const require = createRequire(import.meta.url);
  const { prototype } = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };
  // Only the version this was written against: another one keeps its own code.
  if (!prototype.scheduleCheckPendingRequests.toString().includes('this.throttledUntil - Date.now()')) return;
  prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueue): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
    );
  };
}
