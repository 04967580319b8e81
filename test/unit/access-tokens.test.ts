import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_PREFIX, extractAccessToken, generateAccessToken, hashAccessToken, hashPassword, verifyPassword } from '@mx/auth';

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
    expect(hashAccessToken(a).equals(hashAccessToken(a))).toBe(true);
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
