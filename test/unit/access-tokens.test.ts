import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACCESS_TOKEN_PREFIX,
  AccessTokenCache,
  extractAccessToken,
  generateAccessToken,
  hashAccessToken,
  hashPassword,
  verifyPassword,
} from '@mx/auth';
import { accessTokenAck, accessTokenBarrier, accessTokenChannel, accessTokensOfUser, decodeAccessTokenChange } from '@mx/storage';

describe('extractAccessToken', () => {
  it('prefers the Authorization header over the query parameter', () => {
    expect(extractAccessToken('Bearer abc', 'def')).toEqual({ kind: 'token', token: 'abc' });
    expect(extractAccessToken('bearer  abc', undefined)).toEqual({ kind: 'token', token: 'abc' });
    expect(extractAccessToken(undefined, 'def')).toEqual({ kind: 'token', token: 'def' });
  });

  it('tells missing from malformed', () => {
    expect(extractAccessToken(undefined, undefined)).toEqual({ kind: 'missing' });
    expect(extractAccessToken('', '')).toEqual({ kind: 'missing' });
    expect(extractAccessToken('Basic abc', undefined)).toEqual({ kind: 'malformed' });
    expect(extractAccessToken('Bearer', undefined)).toEqual({ kind: 'malformed' });
    expect(extractAccessToken(undefined, ['a', 'b'])).toEqual({ kind: 'malformed' });
  });

  it('returns exactly the bearer token for any token text', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21-\x7e]{1,64}$/), (token) => {
        expect(extractAccessToken(`Bearer ${token}`, undefined)).toEqual({ kind: 'token', token });
      }),
    );
  });
});

describe('access tokens', () => {
  it('are versioned, random and hashed with SHA-256', () => {
    const a = generateAccessToken();
    const b = generateAccessToken();
    expect(a.startsWith(ACCESS_TOKEN_PREFIX)).toBe(true);
    expect(a).not.toBe(b);
    expect(hashAccessToken(a)).toHaveLength(32);
    // SHA-256 of known inputs, the digests written out: FIPS 180-2's "abc" example, and a token
    // with a non-ASCII character, hashed as UTF-8 (its digest from coreutils' sha256sum).
    expect(hashAccessToken('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashAccessToken('mxp1_café').toString('hex')).toBe('fbf7e6b1de4bc1c1abd11aa2722acc2df32b277c02bebad0e95fb26550fa15ed');
  });
});

describe('password hashing', () => {
  it('verifies the right password only', async () => {
    const stored = await hashPassword('correct horse');
    expect(stored.startsWith('scrypt$')).toBe(true);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('wrong horse', stored)).toBe(false);
    expect(await verifyPassword('correct horse', 'garbage')).toBe(false);
  });
});

describe('AccessTokenCache', () => {
  const alice = { userId: '@alice:example.org', deviceId: 'A' };
  const aliceOther = { userId: '@alice:example.org', deviceId: 'B' };
  const bob = { userId: '@bob:example.org', deviceId: 'A' };

  it('keeps a token for its time-to-live only', () => {
    let now = 1000;
    const cache = new AccessTokenCache(10, 60_000, () => now);
    cache.set('h1', alice, cache.begin());
    expect(cache.get('h1')).toEqual(alice);
    now += 59_999;
    expect(cache.get('h1')).toEqual(alice);
    now += 1;
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, the oldest going first', () => {
    const cache = new AccessTokenCache(2, 60_000);
    for (const hash of ['h1', 'h2', 'h3']) cache.set(hash, alice, cache.begin());
    expect([cache.get('h1'), cache.get('h2'), cache.get('h3')]).toEqual([undefined, alice, alice]);
  });

  it('drops the answer of a lookup that overlapped a forgetting (it may predate the deletion)', () => {
    const cache = new AccessTokenCache(10, 60_000);
    const began = cache.begin();
    cache.forget(['h1']);
    cache.set('h1', alice, began);
    expect(cache.get('h1')).toBeUndefined();
    const again = cache.begin();
    cache.set('h1', alice, again);
    expect(cache.get('h1')).toEqual(alice);
    const beforeClear = cache.begin();
    cache.clear();
    cache.set('h2', alice, beforeClear);
    expect(cache.get('h2')).toBeUndefined();
  });

  it('forgets tokens by hash, by device, by user, or all', () => {
    const cache = new AccessTokenCache(10, 60_000);
    const fill = () => {
      cache.clear();
      for (const [hash, requester] of [
        ['a1', alice],
        ['a2', alice],
        ['b1', aliceOther],
        ['c1', bob],
      ] as const)
        cache.set(hash, requester, cache.begin());
    };
    const kept = () => ['a1', 'a2', 'b1', 'c1'].filter((hash) => cache.get(hash));
    fill();
    cache.forget(['a2', 'unknown']);
    expect(kept()).toEqual(['a1', 'b1', 'c1']);
    fill();
    cache.forgetDevices(alice.userId, alice.deviceId);
    expect(kept()).toEqual(['b1', 'c1']);
    fill();
    cache.forgetDevices(alice.userId);
    expect(kept()).toEqual(['c1']);
    fill();
    cache.clear();
    expect(kept()).toEqual([]);
  });

  it('never caches with no room', () => {
    const cache = new AccessTokenCache(0, 60_000);
    cache.set('h1', alice, cache.begin());
    expect(cache.get('h1')).toBeUndefined();
  });
});

describe('access-token deletion notifications', () => {
  const hash = (byte: string) => byte.repeat(64);

  it('name the deleted tokens by hash, or everything', () => {
    expect(decodeAccessTokenChange(hash('a'))).toEqual({ kind: 'tokens', hashes: [hash('a')] });
    expect(decodeAccessTokenChange(`${hash('a')},${hash('0')}`)).toEqual({ kind: 'tokens', hashes: [hash('a'), hash('0')] });
    expect(decodeAccessTokenChange('*')).toEqual({ kind: 'all' });
  });

  it("name every token of a user (companion mode's /logout/all)", () => {
    expect(decodeAccessTokenChange(accessTokensOfUser('@a:hs'))).toEqual({ kind: 'user', userId: '@a:hs' });
    expect(decodeAccessTokenChange('user:')).toEqual({ kind: 'all' });
  });

  it('carry barriers and their acknowledgements, which forget nothing', () => {
    expect(decodeAccessTokenChange(accessTokenBarrier('b-1'))).toEqual({ kind: 'barrier', id: 'b-1' });
    expect(decodeAccessTokenChange(accessTokenAck('b-1'))).toEqual({ kind: 'ack', id: 'b-1' });
  });

  it('forget everything when the payload is not understood', () => {
    for (const payload of ['', 'xyz', hash('A'), `${hash('a')},`, hash('a').slice(1)]) {
      expect(decodeAccessTokenChange(payload), payload).toEqual({ kind: 'all' });
    }
  });

  it('use one channel per schema, as the trigger does', () => {
    expect(accessTokenChannel('public')).toBe('mx_access_tokens');
    expect(accessTokenChannel('replay_abc')).toBe('mx_access_tokens_replay_abc');
  });
});
