import { describe, expect, it } from 'vitest';
import { PartitionProgress } from '../../apps/projector/src/partition-progress.js';
import { isDeterministicFailure } from '../../apps/projector/src/deterministic-failure.js';

describe('PartitionProgress', () => {
  it('counts the time a partition with records to apply has not advanced', () => {
    const progress = new PartitionProgress();
    progress.pending('t', 0, 1_000);
    expect(progress.stalledSeconds(4_000)).toEqual([{ topic: 't', partition: 0, seconds: 3 }]);
    // Retried batches do not reset the clock; only an advance does.
    progress.pending('t', 0, 5_000);
    expect(progress.stalledSeconds(6_000)).toEqual([{ topic: 't', partition: 0, seconds: 5 }]);
    progress.advanced('t', 0, 10, 20, 7_000);
    expect(progress.stalledSeconds(8_000)).toEqual([{ topic: 't', partition: 0, seconds: 1 }]);
    progress.advanced('t', 0, 20, 20, 9_000);
    expect(progress.stalledSeconds(60_000)).toEqual([{ topic: 't', partition: 0, seconds: 0 }]);
  });

  it('forgets a partition it has not tried for two minutes (it moved to another consumer)', () => {
    const progress = new PartitionProgress();
    progress.pending('t', 1, 0);
    expect(progress.stalledSeconds(119_000)).toHaveLength(1);
    expect(progress.stalledSeconds(121_000)).toEqual([]);
  });
});

describe('isDeterministicFailure', () => {
  it('tells data errors from transient ones', () => {
    const pg = (code: string) => Object.assign(new Error('x'), { code });
    for (const code of ['22P05', '22003', '22021', '23502', '54000']) expect(isDeterministicFailure(pg(code)), code).toBe(true);
    for (const code of ['08006', '40001', '40P01', '57P01', '53300', 'ECONNREFUSED'])
      expect(isDeterministicFailure(pg(code)), code).toBe(false);
    expect(isDeterministicFailure(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isDeterministicFailure(new TypeError('x is undefined'))).toBe(true);
  });
});
