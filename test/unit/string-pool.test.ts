import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StringPool } from '@mx/sync';

describe('StringPool', () => {
  it('gives back a string equal to the one given, and never holds more than its bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.constantFrom('@a:x', '@b:x', '@c:x', '!r:x', '', '@é:x'), { maxLength: 60 }),
        (max, values) => {
          const pool = new StringPool(max);
          for (const value of values) {
            expect(pool.intern(value)).toBe(value);
            expect(pool.size).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });

  it('holds each string once', () => {
    const pool = new StringPool(10);
    for (const value of ['@a:x', '@b:x', '@a:x', '@a:x', '@b:x']) pool.intern(value);
    expect(pool.size).toBe(2);
  });
});
