import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppendCoalescer } from '../../libs/event-log/src/append-coalescer.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AppendCoalescer', () => {
  it('gives every submission its own results in order, flushes one batch at a time, in submission order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ items: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 5 }), pause: fc.nat(3) }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 40 }),
        async (submissions, maxWeight) => {
          let inFlight = 0;
          let maxInFlight = 0;
          const flushed: number[][] = [];
          const coalescer = new AppendCoalescer<number, string>(
            async (items) => {
              inFlight += 1;
              maxInFlight = Math.max(maxInFlight, inFlight);
              flushed.push([...items]);
              await tick();
              inFlight -= 1;
              return items.map((item) => `r${item}`);
            },
            { maxWeight, weight: () => 1 },
          );
          const pending: Promise<string[]>[] = [];
          for (const submission of submissions) {
            pending.push(coalescer.submit(submission.items));
            for (let i = 0; i < submission.pause; i += 1) await tick();
          }
          const results = await Promise.all(pending);
          results.forEach((result, index) => expect(result).toEqual(submissions[index]!.items.map((item) => `r${item}`)));
          expect(maxInFlight).toBe(1);
          expect(flushed.flat()).toEqual(submissions.flatMap((submission) => submission.items));
          // A batch goes over the weight limit only when it is a single submission.
          for (const batch of flushed)
            if (batch.length > maxWeight) expect(submissions.some((s) => s.items.length === batch.length)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('coalesces submissions made while a flush is in flight into one request', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const coalescer = new AppendCoalescer<number, number>(
      async (items) => {
        batches.push([...items]);
        if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return [...items];
      },
      { maxWeight: 1000, weight: () => 1 },
    );
    const first = coalescer.submit([1]);
    const rest = [coalescer.submit([2]), coalescer.submit([3, 4]), coalescer.submit([5])];
    release();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('rejects every submission of a failed flush and keeps serving the next ones', async () => {
    let calls = 0;
    const coalescer = new AppendCoalescer<number, number>(
      async (items) => {
        calls += 1;
        await tick();
        if (calls === 1) throw new Error('broker down');
        return [...items];
      },
      { maxWeight: 1, weight: () => 1 },
    );
    const failed = coalescer.submit([1]);
    const later = coalescer.submit([2]);
    await expect(failed).rejects.toThrow('broker down');
    await expect(later).resolves.toEqual([2]);
  });
});
