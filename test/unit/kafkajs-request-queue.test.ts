import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKafkaClient } from '@mx/event-log';

/**
 * kafkajs 2.2.4's RequestQueue re-arms a check of its pending requests after every response with
 * `throttledUntil - Date.now()` as the delay; unthrottled, throttledUntil is -1, so the delay is
 * minus the epoch: Node prints a TimeoutNegativeWarning, runs it after 1 ms, and the check re-arms
 * itself, forever, on every broker connection. Creating a client through @mx/event-log fixes it.
 */
interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
  destroy(): void;
}
const require = createRequire(import.meta.url);
const RequestQueueClass = require('kafkajs/src/network/requestQueue/index.js') as new (options: object) => RequestQueue;
const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function queue(): RequestQueue {
  createKafkaClient(
    { clientId: 'test', brokers: ['127.0.0.1:1'], ssl: false, connectionTimeoutMs: 1000, requestTimeoutMs: 1000 },
    { ...logger },
  );
  return new RequestQueueClass({
    maxInFlightRequests: 1,
    requestTimeout: 1000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'b',
    logger: { ...logger, namespace: () => logger },
  });
}

describe('kafkajs request queue', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('schedules nothing when nothing is pending (no 1 ms loop, no negative timeout)', () => {
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    const requests = queue();
    requests.scheduleCheckPendingRequests();
    requests.checkPendingRequests();
    expect(requests.throttleCheckTimeoutId).toBeNull();
    expect(timeouts).not.toHaveBeenCalled();
  });

  it('checks pending requests when the throttle ends, or soon when not throttled', () => {
    // Fake timers and a fake clock: what is checked is when the check runs, not a wall-clock window.
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const requests = queue();
    const checks = vi.spyOn(requests, 'checkPendingRequests').mockImplementation(() => undefined);
    requests.pending.push({});
    expect(vi.getTimerCount()).toBe(0);

    // Throttled for 500 ms: one check, when the throttle ends.
    requests.throttledUntil = Date.now() + 500;
    requests.scheduleCheckPendingRequests();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(499);
    expect(checks).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(checks).toHaveBeenCalledTimes(1);
    expect(requests.throttleCheckTimeoutId).toBeNull();
    expect(vi.getTimerCount()).toBe(0);

    // Not throttled (kafkajs's -1): one check 10 ms later, and only one at a time.
    requests.throttledUntil = -1;
    requests.scheduleCheckPendingRequests();
    requests.scheduleCheckPendingRequests();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(9);
    expect(checks).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(checks).toHaveBeenCalledTimes(2);
    // Nothing re-arms itself: no timer left, however long the clock runs on.
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(checks).toHaveBeenCalledTimes(2);
    requests.destroy();
  });
});
