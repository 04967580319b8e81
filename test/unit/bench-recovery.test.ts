import { describe, expect, it } from 'vitest';
import { peak, recoveryAfter, settledAt } from '../bench/src/recovery.js';

const series = (values: (number | null)[], stepMs = 100) => values.map((value, i) => ({ t: i * stepMs, value }));

describe('settledAt', () => {
  it('finds the start of the first run at or below the threshold that lasts the hold time', () => {
    const samples = series([0, 0, 50, 80, 10, 5, 30, 2, 1, 0, 0]);
    expect(settledAt(samples, 200, 5, 200)).toBe(700);
    expect(settledAt(samples, 200, 10, 100)).toBe(400);
  });
  it('never counts a missing reading as settled', () => {
    expect(settledAt(series([9, null, 0, null, 0, 0, 0]), 0, 1, 200)).toBe(400);
  });
  it('is null when the value never settles', () => {
    expect(settledAt(series([9, 9, 0]), 0, 1, 500)).toBeNull();
  });
});

describe('peak', () => {
  it('takes the largest reading inside the window only', () => {
    expect(peak(series([100, 3, 7, null, 4, 200]), 100, 400)).toBe(7);
    expect(peak(series([null, null]), 0, 1000)).toBeNull();
  });
});

describe('recoveryAfter', () => {
  it('measures from the disturbance to settling after the peak, not to a calm moment before the lag built up', () => {
    // Disturbance at t = 200: the lag is still low at first, peaks at t = 600, settles from t = 900.
    const samples = series([0, 0, 1, 2, 40, 90, 120, 60, 20, 3, 2, 1, 0]);
    expect(recoveryAfter(samples, 200, 1200, 10, 100)).toBe(700);
    expect(settledAt(samples, 200, 10, 100)).toBe(200); // what a naive measure (calm before the lag built up) would say
  });
  it('is zero without a disturbance and null when it never settles', () => {
    expect(recoveryAfter(series([1, 2, 1, 0]), 0, 300, 10, 100)).toBe(0);
    expect(recoveryAfter(series([1, 50, 60, 70]), 0, 300, 10, 100)).toBeNull();
  });
});
