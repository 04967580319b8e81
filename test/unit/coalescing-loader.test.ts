import { describe, expect, it } from 'vitest';
import { CoalescingLoader } from '@mx/sync';

/** A read the test finishes by hand. */
function manualReads() {
  const reads: { keys: readonly string[]; finish: (values: Map<string, string>) => void; fail: (error: Error) => void }[] = [];
  const read = (keys: readonly string[]) =>
    new Promise<Map<string, string>>((resolve, reject) => reads.push({ keys, finish: resolve, fail: reject }));
  return { reads, read };
}

describe('coalescing loader', () => {
  it('reads the keys asked for while reads are in flight together, at most maxInFlight reads and maxBatch keys at once', async () => {
    const { reads, read } = manualReads();
    const loader = new CoalescingLoader(read, 100, 2);
    const results = Array.from({ length: 1000 }, (_, index) => loader.load(`k${index}`));
    // The first two callers are read at once (nothing to wait for), every other key waits for a read to finish.
    expect(reads.map((r) => r.keys.length)).toEqual([1, 1]);
    let most = 2;
    while (reads.some((r) => r.keys.length > 0)) {
      const next = reads.find((r) => r.keys.length > 0)!;
      const keys = next.keys;
      (next as { keys: readonly string[] }).keys = [];
      next.finish(new Map(keys.filter((key) => key !== 'k7').map((key) => [key, `value of ${key}`])));
      await new Promise((resolve) => setImmediate(resolve));
      most = Math.max(most, reads.filter((r) => r.keys.length > 0).length);
    }
    expect(most).toBeLessThanOrEqual(2);
    expect(reads.length).toBe(2 + Math.ceil(998 / 100));
    const values = await Promise.all(results);
    expect(values[3]).toBe('value of k3');
    expect(values[7]).toBeUndefined(); // not found by the read
    expect(values.filter((value) => value !== undefined)).toHaveLength(999);
  });

  it('shares one read between callers asking for the same waiting key, and rejects a failed read’s callers only', async () => {
    const { reads, read } = manualReads();
    const loader = new CoalescingLoader(read, 10, 1);
    const first = loader.load('a');
    const second = loader.load('b');
    const again = loader.load('b');
    expect(again).toBe(second);
    reads[0]!.fail(new Error('database down'));
    await expect(first).rejects.toThrow('database down');
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads[1]!.keys).toEqual(['b']);
    reads[1]!.finish(new Map([['b', 'B']]));
    expect(await second).toBe('B');
  });
});
