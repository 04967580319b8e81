import { describe, expect, it } from 'vitest';
import { cdfPoints, countsPerBucket, histogram } from '../bench/src/histogram.js';
import { median, percentile, summarize } from '../bench/src/stats.js';

describe('bench percentiles', () => {
  it('uses the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 90)).toBe(90);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('summarizes an unsorted sample, negatives included', () => {
    const summary = summarize([5, -1, 3, 10, 2]);
    expect(summary).toEqual({ count: 5, min: -1, mean: 3.8, p50: 3, p90: 10, p99: 10, max: 10 });
    expect(summarize([]).p99).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
  });
});

describe('bench histogram binning', () => {
  it('bins values with the last bin closed', () => {
    const result = histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, { min: 0, max: 10 });
    expect(result.edges).toEqual([0, 2, 4, 6, 8, 10]);
    expect(result.counts).toEqual([2, 2, 2, 2, 3]);
    expect(result.outside).toBe(0);
  });

  it('counts values outside a given range and takes the range from the data otherwise', () => {
    expect(histogram([-5, 1, 50], 2, { min: 0, max: 10 }).outside).toBe(2);
    const fromData = histogram([3, 3, 3], 4);
    expect(fromData.counts.reduce((a, b) => a + b, 0)).toBe(3);
    expect(fromData.edges[0]).toBe(3);
  });

  it('gives CDF points ending at 1 and per-second counts', () => {
    const points = cdfPoints([1, 2, 3, 4], 2);
    expect(points.at(-1)).toEqual({ x: 4, y: 1 });
    expect(points.every((p, i) => i === 0 || p.y >= points[i - 1]!.y)).toBe(true);
    expect(countsPerBucket([100, 900, 1000, 2500, 9999], 0, 3000, 1000)).toEqual([2, 1, 1]);
  });
});
