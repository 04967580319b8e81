import { readFileSync, statSync } from 'node:fs';

/**
 * Synchronising on events a test can observe from outside the processes: an HTTP answer, a
 * Prometheus sample, a log line. `until` polls a check until it yields a value; the deadline is a
 * safety net that turns a missing event into a failure with a message, never a condition of success.
 */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The value of one sample on a service's /metrics (`labels` as written there, e.g. `topic="x"`), undefined when absent. */
export async function metricValue(serviceUrl: string, name: string, labels?: string): Promise<number | undefined> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (labels !== undefined && !(match[2] ?? '').split(',').includes(labels)) continue;
    return Number(match[3]);
  }
  return undefined;
}

/** The size of a log file now (0 when it does not exist yet): where to start reading what comes next. */
export function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** What a log file holds from byte `offset` on ('' when it does not exist). */
export function logFrom(file: string, offset = 0): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}
