import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonByteLength } from '@mx/matrix';

describe('canonicalJson', () => {
  it('sorts keys by code point and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: 'é' }] })).toBe('{"a":[true,null,{"c":"é","d":"x"}],"b":1}');
    expect(canonicalJson({ '\u00e9': 1, z: 2, A: 3 })).toBe('{"A":3,"z":2,"é":1}');
  });

  it('measures UTF-8 bytes, not UTF-16 code units', () => {
    expect(canonicalJsonByteLength({ k: '€' })).toBe(Buffer.byteLength('{"k":"€"}'));
  });

  it('round-trips through JSON.parse and is independent of key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });
});
