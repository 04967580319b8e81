import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RecordBatch } from '../../libs/event-log/src/event-log.port.js';
import { type ApplyLane, applyWithRetry, ReplayDispatcher } from '../../apps/projector/src/replay/replay-dispatcher.js';
import { batchBytes, packBatch, transferList, unpackBatch } from '../../apps/projector/src/replay/record-batch-transfer.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function batchOf(topic: string, partition: number, from: number, count: number, valueBytes = 10): RecordBatch {
  return {
    topic,
    partition,
    highWatermark: from + count,
    records: Array.from({ length: count }, (_, index) => ({
      offset: from + index,
      key: `k${from + index}`,
      value: Buffer.alloc(valueBytes, index % 256),
      timestamp: 1_700_000_000_000 + index,
    })),
    isStale: () => false,
  };
}

/** A lane applying one batch at a time, each taking `ticks()` event-loop turns; records what it applied. */
class FakeLane implements ApplyLane {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly name: number,
    private readonly ticks: () => number,
    private readonly log: { lane: number; topic: string; partition: number; from: number; phase: 'start' | 'end' }[],
    private readonly hooks: { handed(batch: RecordBatch): void; applied(batch: RecordBatch): void },
  ) {}

  apply(batch: RecordBatch): Promise<number | undefined> {
    this.hooks.handed(batch);
    const done = this.tail.then(async () => {
      const from = batch.records[0]!.offset;
      this.log.push({ lane: this.name, topic: batch.topic, partition: batch.partition, from, phase: 'start' });
      for (let i = this.ticks(); i > 0; i -= 1) await tick();
      this.log.push({ lane: this.name, topic: batch.topic, partition: batch.partition, from, phase: 'end' });
      this.hooks.applied(batch);
      return batch.records.at(-1)!.offset + 1;
    });
    this.tail = done;
    return done;
  }
}

describe('record batch transfer', () => {
  it('packs a batch into a few transferable buffers and unpacks it unchanged (null and empty values, null keys)', () => {
    const batch: RecordBatch = {
      topic: 'mx.profile.v1',
      partition: 3,
      highWatermark: 42,
      records: [
        { offset: 7, key: 'a', value: Buffer.from('{"v":1}'), timestamp: 1 },
        { offset: 8, key: null, value: null, timestamp: 2 },
        { offset: 9, key: 'c', value: Buffer.alloc(0), timestamp: 3 },
        { offset: 2 ** 40, key: 'ü', value: Buffer.from('ünïcode'), timestamp: 1_700_000_000_123 },
      ],
      isStale: () => false,
    };
    const packed = packBatch(batch);
    expect(transferList(packed)).toHaveLength(4);
    // Posting moves the buffers: simulate the copy a structured clone would make.
    const copy = structuredClone(packed, { transfer: transferList(packed) });
    let stale = false;
    const unpacked = unpackBatch(copy, () => stale);
    expect({ ...unpacked, isStale: undefined }).toEqual({ ...batch, isStale: undefined });
    expect(unpacked.records.map((record) => record.value?.toString('utf8') ?? null)).toEqual(['{"v":1}', null, '', 'ünïcode']);
    expect(unpacked.isStale()).toBe(false);
    stale = true;
    expect(unpacked.isStale()).toBe(true);
    expect(batchBytes(batch)).toBeGreaterThan(0);
  });
});

describe('ReplayDispatcher', () => {
  it('applies each partition in log order, one batch at a time, partitions in parallel, within the pending bound', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ partition: fc.integer({ min: 0, max: 5 }), count: fc.integer({ min: 1, max: 4 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 400 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 4 })),
        async (dispatches, laneCount, maxPendingBytes, delays) => {
          const log: { lane: number; topic: string; partition: number; from: number; phase: 'start' | 'end' }[] = [];
          const ticks = delays[Symbol.iterator]();
          // Batches handed to a lane and not yet applied.
          const pending = new Set<RecordBatch>();
          const hooks = {
            handed: (batch: RecordBatch) => {
              const bytes = [...pending].reduce((sum, each) => sum + batchBytes(each), 0);
              // Handed over only while the pending batches' bytes are under the bound, or when nothing is pending.
              expect(pending.size === 0 || bytes < maxPendingBytes).toBe(true);
              pending.add(batch);
            },
            applied: (batch: RecordBatch) => pending.delete(batch),
          };
          const lanes = Array.from({ length: laneCount }, (_, name) => new FakeLane(name, () => ticks.next().value as number, log, hooks));
          const applied: { topic: string; partition: number; position: number }[] = [];
          const dispatcher = new ReplayDispatcher(lanes, maxPendingBytes, (topic, partition, position) =>
            applied.push({ topic, partition, position }),
          );
          const next = new Map<number, number>();
          const expected: { partition: number; from: number }[] = [];
          for (const { partition, count } of dispatches) {
            const from = next.get(partition) ?? 0;
            next.set(partition, from + count);
            const batch = batchOf('t', partition, from, count);
            const settled = dispatcher.dispatch(batch);
            expected.push({ partition, from });
            await settled;
          }
          await dispatcher.drained();
          expect(dispatcher.error).toBeUndefined();
          // Every batch applied once; per partition in dispatch order, never two at a time.
          const ends = log.filter((entry) => entry.phase === 'end');
          expect(ends).toHaveLength(dispatches.length);
          for (const partition of new Set(dispatches.map((each) => each.partition))) {
            const own = log.filter((entry) => entry.partition === partition);
            expect(own.filter((entry) => entry.phase === 'end').map((entry) => entry.from)).toEqual(
              expected.filter((each) => each.partition === partition).map((each) => each.from),
            );
            own.forEach((entry, index) => expect(entry.phase).toBe(index % 2 === 0 ? 'start' : 'end'));
          }
          // Positions reported per partition only move forward, and end at the partition's end.
          for (const [partition, end] of next) {
            const positions = applied.filter((each) => each.partition === partition).map((each) => each.position);
            expect(positions).toEqual([...positions].sort((a, b) => a - b));
            expect(positions.at(-1)).toBe(end);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('holds the next batch back while the pending bytes reach the bound, and spreads partitions over idle lanes', async () => {
    const releases: (() => void)[] = [];
    const started: string[] = [];
    const lane = (name: string): ApplyLane => ({
      apply: (batch) =>
        new Promise((resolve) => {
          started.push(`${name}:${batch.partition}`);
          releases.push(() => resolve(batch.records.at(-1)!.offset + 1));
        }),
    });
    const one = batchOf('t', 0, 0, 10, 100);
    const dispatcher = new ReplayDispatcher([lane('a'), lane('b')], batchBytes(one) * 2, () => undefined);
    await dispatcher.dispatch(one);
    await dispatcher.dispatch(batchOf('t', 1, 0, 10, 100));
    // Two batches pending reach the bound: the third waits until one is applied.
    let third = false;
    const handed = dispatcher.dispatch(batchOf('t', 2, 0, 10, 100)).then(() => (third = true));
    await tick();
    expect(third).toBe(false);
    expect(started).toEqual(['a:0', 'b:1']);
    releases.shift()!();
    await handed;
    expect(third).toBe(true);
    expect(started).toEqual(['a:0', 'b:1', 'a:2']);
  });

  it('fails the replay when a lane fails: the next dispatch and drained() reject with its error', async () => {
    const failing: ApplyLane = { apply: () => Promise.reject(new Error('worker gone')) };
    const dispatcher = new ReplayDispatcher([failing], 1 << 20, () => undefined);
    await dispatcher.dispatch(batchOf('t', 0, 0, 1));
    await expect(dispatcher.drained()).rejects.toThrow('worker gone');
    expect(dispatcher.error?.error).toBeInstanceOf(Error);
    await expect(dispatcher.dispatch(batchOf('t', 0, 1, 1))).rejects.toThrow('worker gone');
  });
});

describe('applyWithRetry', () => {
  it('tries again after each failure, with growing pauses, until the batch applies', async () => {
    let attempts = 0;
    const pauses: number[] = [];
    const warned: number[] = [];
    const result = await applyWithRetry(
      () => {
        attempts += 1;
        return attempts < 5 ? Promise.reject(new Error(`transient ${attempts}`)) : Promise.resolve('applied');
      },
      (_error, attempt) => warned.push(attempt),
      (ms) => {
        pauses.push(ms);
        return Promise.resolve();
      },
    );
    expect(result).toBe('applied');
    expect(warned).toEqual([1, 2, 3, 4]);
    expect(pauses).toEqual([500, 1000, 2000, 4000]);
  });
});
