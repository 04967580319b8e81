import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findUnstorableJson, MAX_JSON_DEPTH, unstorableStringProblem } from '@mx/matrix';

/** Builds `depth` levels of nested arrays without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

describe('findUnstorableJson', () => {
  it('accepts ordinary JSON, surrogate pairs and the largest doubles', () => {
    for (const value of [null, true, 0, -0, 1.5e308, 'Europe/Paris', '😀', { a: [1, { b: 'c' }] }, [], {}, nested(MAX_JSON_DEPTH)]) {
      expect(findUnstorableJson(value), JSON.stringify(value)).toBeNull();
    }
  });

  it('names the place of a NUL, an unpaired surrogate, a non-finite number or excess nesting', () => {
    expect(findUnstorableJson({ a: ['x', 'b\u0000'] })).toBe('$.a[1] contains a NUL character');
    expect(findUnstorableJson({ a: '\ud800' })).toBe('$.a contains an unpaired UTF-16 surrogate');
    expect(findUnstorableJson({ a: 'x\udc00' })).toBe('$.a contains an unpaired UTF-16 surrogate');
    expect(findUnstorableJson({ 'k\u0000': 1 })).toBe('a key of $ contains a NUL character');
    expect(findUnstorableJson(JSON.parse('{"n":1e400}'))).toBe('$.n is a number outside the range of a double');
    expect(findUnstorableJson([-Infinity])).toBe('$[0] is a number outside the range of a double');
    expect(findUnstorableJson(nested(MAX_JSON_DEPTH + 1))).toMatch(/nested deeper than 100 levels/);
    expect(findUnstorableJson(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toMatch(/nested deeper/);
  });

  it('never echoes a hostile key in full', () => {
    const problem = findUnstorableJson({ ['x'.repeat(500)]: { y: '\u0000' } });
    expect(problem!.length).toBeLessThan(120);
  });

  it('agrees with PostgreSQL-storable strings on arbitrary UTF-16 (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const storable = !text.includes('\u0000') && (text as string & { isWellFormed(): boolean }).isWellFormed();
        expect(unstorableStringProblem(text) === null).toBe(storable);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly the JSON whose strings and keys are all well-formed and free of NUL (property)', () => {
    /** An independent oracle: recursive, with the platform's own well-formedness check. */
    const storable = (value: unknown): boolean => {
      if (typeof value === 'string') return !value.includes('\u0000') && (value as string & { isWellFormed(): boolean }).isWellFormed();
      if (Array.isArray(value)) return value.every(storable);
      if (value !== null && typeof value === 'object') return Object.entries(value).every(([key, item]) => storable(key) && storable(item));
      return typeof value !== 'number' || Number.isFinite(value);
    };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: 'binary' }), (value) => {
        expect(findUnstorableJson(value) === null).toBe(storable(value));
      }),
      { numRuns: 1000 },
    );
  });
});
