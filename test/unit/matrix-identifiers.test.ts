import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProfileKey, isValidNewLocalpart, parseUserId } from '@mx/matrix';

describe('parseUserId', () => {
  it('accepts user IDs with ports, IPv4 and IPv6 server names', () => {
    expect(parseUserId('@alice:example.org')).toEqual({ localpart: 'alice', serverName: 'example.org' });
    expect(parseUserId('@bob:localhost:8008')).toEqual({ localpart: 'bob', serverName: 'localhost:8008' });
    expect(parseUserId('@c:[::1]:8448')).toEqual({ localpart: 'c', serverName: '[::1]:8448' });
    expect(parseUserId('@Historic_User!:example.org')).not.toBeNull();
  });

  it('rejects what is not a user ID', () => {
    for (const value of [
      'alice:example.org',
      '@alice',
      '@:example.org',
      '@alice:',
      '@al ice:example.org',
      '@alice:exa mple.org',
      '#room:example.org',
    ]) {
      expect(parseUserId(value), value).toBeNull();
    }
    expect(parseUserId(`@${'a'.repeat(250)}:example.org`)).toBeNull();
  });

  it('never accepts a string without the sigil or a colon', () => {
    fc.assert(fc.property(fc.string(), (text) => (parseUserId(text) === null ? true : text.startsWith('@') && text.includes(':'))));
  });
});

describe('isValidNewLocalpart', () => {
  it('allows the registration grammar only', () => {
    expect(isValidNewLocalpart('alice.b_c=d-e/f+g9')).toBe(true);
    expect(isValidNewLocalpart('Alice')).toBe(false);
    expect(isValidNewLocalpart('')).toBe(false);
    expect(isValidNewLocalpart('a:b')).toBe(false);
  });
});

describe('checkProfileKey', () => {
  it('accepts the spec fields and the namespaced grammar (hyphens allowed, no dot required)', () => {
    for (const key of ['displayname', 'avatar_url', 'm.tz', 'm.status', 'com.example.field', 'org-x.y_z', 'plainkey']) {
      expect(checkProfileKey(key), key).toBeNull();
    }
  });

  it('rejects other keys as invalid and keys over 255 bytes as too large', () => {
    for (const key of ['', 'M.tz', '1abc', '.abc', 'a b', 'é', 'a/b']) expect(checkProfileKey(key), key).toBe('invalid');
    expect(checkProfileKey('a'.repeat(256))).toBe('too_large');
    expect(checkProfileKey('a'.repeat(255))).toBeNull();
    expect(checkProfileKey('é'.repeat(128))).toBe('too_large');
  });

  it('agrees with the grammar on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (key) => {
        const problem = checkProfileKey(key);
        if (Buffer.byteLength(key) > 255) return problem === 'too_large';
        const grammatical = /^[a-z][a-z0-9._-]*$/.test(key);
        return grammatical ? problem === null : problem === 'invalid';
      }),
    );
  });
});
