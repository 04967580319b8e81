import { describe, expect, it } from 'vitest';
import { CLIENT_V3, expectMatrixError, expectStatus, profilePath } from '../support/accounts.js';
import { type TestUser, profileFilter, registerUser, request, uniqueLocalpart, USERS } from '../support/matrix-client.js';

/**
 * Profiles (spec profile API + MSC4133 extended profiles) through the router: read-your-writes,
 * keys and values, the check order, the 64 KiB profile limit (also under concurrency), the
 * per-user write rate limit, capabilities, and the /sync (MSC4429) view of profile changes.
 * Each test uses fresh users and stays well under 20 writes per user per second unless it
 * is about the rate limit.
 */

const MAX_PROFILE_BYTES = 65_536;

type Profile = Record<string, unknown>;

function put(user: TestUser, key: string, value: unknown, owner: string = user.userId) {
  return request('PUT', profilePath(owner, key), { token: user.accessToken, body: { [key]: value } });
}

function del(user: TestUser, key: string, owner: string = user.userId) {
  return request('DELETE', profilePath(owner, key), { token: user.accessToken });
}

function getField(userId: string, key: string) {
  return request('GET', profilePath(userId, key));
}

function getProfile(userId: string) {
  return request<Profile>('GET', profilePath(userId));
}

/** The whole profile; a registered user without any field may answer 404. */
async function currentProfile(userId: string): Promise<Profile> {
  const response = await getProfile(userId);
  if (response.status === 404) return {};
  expectStatus(response, 200);
  return response.body;
}

/** Printable ASCII but `"` and `\`: the characters JSON writes as they are. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * A profile's size as canonical JSON, worked out here rather than by the production code: with
 * plain keys and string values it is `{` `}`, each `"key":"value"` (5 bytes more than key and
 * value), and the commas between, whatever the key order.
 */
function plainProfileBytes(profile: Profile): number {
  const entries = Object.entries(profile);
  for (const [key, value] of entries) {
    if (!PLAIN.test(key) || typeof value !== 'string' || !PLAIN.test(value)) throw new Error(`not a plain field: ${key}`);
  }
  return 2 + entries.reduce((sum, [key, value]) => sum + key.length + (value as string).length + 5, 0) + Math.max(0, entries.length - 1);
}

async function expectPut(user: TestUser, key: string, value: unknown): Promise<void> {
  const response = await put(user, key, value);
  expectStatus(response, 200);
  expect(response.body).toEqual({});
}

describe('profile fields: read-your-writes', () => {
  it('reads a written field back at once, per field and in the whole profile, without a token', async () => {
    const alice = await registerUser('alice');
    await expectPut(alice, 'displayname', 'Alice Liddell');
    expect(await getField(alice.userId, 'displayname')).toMatchObject({ status: 200, body: { displayname: 'Alice Liddell' } });
    await expectPut(alice, 'avatar_url', 'mxc://test.local/abcDEF123');
    expect(await getField(alice.userId, 'avatar_url')).toMatchObject({ status: 200, body: { avatar_url: 'mxc://test.local/abcDEF123' } });
    await expectPut(alice, 'm.tz', 'Europe/Paris');
    expect(await getField(alice.userId, 'm.tz')).toMatchObject({ status: 200, body: { 'm.tz': 'Europe/Paris' } });

    const profile = await getProfile(alice.userId);
    expectStatus(profile, 200);
    expect(profile.body).toMatchObject({ displayname: 'Alice Liddell', avatar_url: 'mxc://test.local/abcDEF123', 'm.tz': 'Europe/Paris' });
  });

  it('overwrites a field and reads the new value at once', async () => {
    const alice = await registerUser('alice');
    for (const name of ['one', 'two', 'three']) {
      await expectPut(alice, 'displayname', name);
      const response = await getField(alice.userId, 'displayname');
      expectStatus(response, 200);
      expect(response.body).toEqual({ displayname: name });
    }
  });

  it('stores any JSON value for custom keys, including null', async () => {
    const alice = await registerUser('alice');
    const values: Record<string, unknown> = {
      'com.example.object': { nested: { list: [1, 'two', { three: 3 }] }, flag: false },
      'com.example.array': ['a', 1, null, { b: true }],
      'com.example.number': 42.5,
      'com.example.negative': -7,
      'com.example.bool': true,
      'com.example.string': 'héllo wörld ✓',
      'com.example.null': null,
    };
    for (const [key, value] of Object.entries(values)) {
      await expectPut(alice, key, value);
      const response = await getField(alice.userId, key);
      expectStatus(response, 200);
      expect(response.body).toEqual({ [key]: value });
    }
    const profile = await getProfile(alice.userId);
    expectStatus(profile, 200);
    expect(profile.body).toMatchObject(values);
    expect(profile.body).toHaveProperty(['com.example.null'], null);
  });
});

describe('profile fields: deleting and missing', () => {
  it('deletes a field: 200 {}, then 404 M_NOT_FOUND and gone from the whole profile', async () => {
    const alice = await registerUser('alice');
    await expectPut(alice, 'com.example.keep', 'kept');
    await expectPut(alice, 'com.example.gone', { x: 1 });
    const deleted = await del(alice, 'com.example.gone');
    expectStatus(deleted, 200);
    expect(deleted.body).toEqual({});
    expectMatrixError(await getField(alice.userId, 'com.example.gone'), 404, 'M_NOT_FOUND');
    const profile = await getProfile(alice.userId);
    expectStatus(profile, 200);
    expect(profile.body).not.toHaveProperty(['com.example.gone']);
    expect(profile.body).toMatchObject({ 'com.example.keep': 'kept' });
  });

  it('deletes a displayname and a null-valued field', async () => {
    const alice = await registerUser('alice');
    await expectPut(alice, 'displayname', 'Alice');
    await expectPut(alice, 'com.example.null', null);
    expectStatus(await del(alice, 'displayname'), 200);
    expectStatus(await del(alice, 'com.example.null'), 200);
    expectMatrixError(await getField(alice.userId, 'displayname'), 404, 'M_NOT_FOUND');
    expectMatrixError(await getField(alice.userId, 'com.example.null'), 404, 'M_NOT_FOUND');
  });

  it('answers DELETE of a missing field with 200 {}', async () => {
    const alice = await registerUser('alice');
    const response = await del(alice, 'com.example.never');
    expectStatus(response, 200);
    expect(response.body).toEqual({});
  });

  it('answers a never-set field and an unknown user with 404 M_NOT_FOUND', async () => {
    const alice = await registerUser('alice');
    expectMatrixError(await getField(alice.userId, 'com.example.never'), 404, 'M_NOT_FOUND');
    expectMatrixError(await getProfile('@nobody-xyz:test.local'), 404, 'M_NOT_FOUND');
    expectMatrixError(await getProfile(`@${uniqueLocalpart('ghost')}:test.local`), 404, 'M_NOT_FOUND');
    expectMatrixError(await getField(`@${uniqueLocalpart('ghost')}:test.local`, 'displayname'), 404, 'M_NOT_FOUND');
  });
});

describe('profile fields: keys', () => {
  it.each(['displayname', 'avatar_url', 'm.tz', 'com.example.x', 'org-x.y_z', 'plainkey', 'a', 'x'.repeat(255)])(
    'accepts the key %s',
    async (key) => {
      const alice = await registerUser('alice');
      const value = key === 'avatar_url' ? 'mxc://test.local/media1' : key === 'm.tz' ? 'UTC' : 'value';
      await expectPut(alice, key, value);
      const response = await getField(alice.userId, key);
      expectStatus(response, 200);
      expect(response.body).toEqual({ [key]: value });
    },
  );

  it('rejects a key over 255 bytes with 400 M_KEY_TOO_LARGE', async () => {
    const alice = await registerUser('alice');
    expectMatrixError(await put(alice, 'x'.repeat(256), 'value'), 400, 'M_KEY_TOO_LARGE');
    expectMatrixError(await del(alice, 'x'.repeat(256)), 400, 'M_KEY_TOO_LARGE');
  });

  it.each(['M.tz', '1abc', 'a b', 'é', 'com.Example.x'])('rejects the invalid key %j with 400 M_INVALID_PARAM', async (key) => {
    const alice = await registerUser('alice');
    expectMatrixError(await put(alice, key, 'value'), 400, 'M_INVALID_PARAM');
  });
});

describe('profile fields: values', () => {
  it('requires displayname to be a string', async () => {
    const alice = await registerUser('alice');
    await expectPut(alice, 'displayname', 'Alice');
    for (const bad of [5, { name: 'Alice' }]) {
      expectMatrixError(await put(alice, 'displayname', bad), 400, 'M_INVALID_PARAM');
    }
    expect((await getField(alice.userId, 'displayname')).body).toEqual({ displayname: 'Alice' });
  });

  it('takes any string as avatar_url, as Synapse and Complement do, and clears it with ""', async () => {
    const alice = await registerUser('alice');
    expectMatrixError(await put(alice, 'avatar_url', 42), 400, 'M_INVALID_PARAM');
    expectMatrixError(await put(alice, 'avatar_url', { url: 'mxc://test.local/ok' }), 400, 'M_INVALID_PARAM');
    // Complement TestAvatarUrlUpdate (tests/csapi/room_profile_test.go) sets a plain word.
    await expectPut(alice, 'avatar_url', 'LemurLover');
    expect((await getField(alice.userId, 'avatar_url')).body).toEqual({ avatar_url: 'LemurLover' });
    await expectPut(alice, 'avatar_url', 'mxc://test.local/ok');
    expect((await getField(alice.userId, 'avatar_url')).body).toEqual({ avatar_url: 'mxc://test.local/ok' });
    // matrix-js-sdk setAvatarUrl(''): the avatar is gone.
    await expectPut(alice, 'avatar_url', '');
    expect((await getField(alice.userId, 'avatar_url')).status).toBe(404);
    await expectPut(alice, 'displayname', 'Alice');
    await expectPut(alice, 'displayname', '');
    expect((await getField(alice.userId, 'displayname')).status).toBe(404);
  });

  it('requires m.tz to be an IANA time zone', async () => {
    const alice = await registerUser('alice');
    await expectPut(alice, 'm.tz', 'Europe/Paris');
    await expectPut(alice, 'm.tz', 'UTC');
    for (const bad of ['Mars/Olympus', '+01:00', 5]) {
      expectMatrixError(await put(alice, 'm.tz', bad), 400, 'M_INVALID_PARAM');
    }
    expect((await getField(alice.userId, 'm.tz')).body).toEqual({ 'm.tz': 'UTC' });
  });

  it('answers a body without the key with 400 M_MISSING_PARAM', async () => {
    const alice = await registerUser('alice');
    const response = await request('PUT', profilePath(alice.userId, 'com.example.x'), { token: alice.accessToken, body: { other: 1 } });
    expectMatrixError(response, 400, 'M_MISSING_PARAM');
  });

  it('answers a non-object body with 400 M_BAD_JSON and an unparseable one with 400 M_NOT_JSON', async () => {
    const alice = await registerUser('alice');
    const path = profilePath(alice.userId, 'com.example.x');
    expectMatrixError(await request('PUT', path, { token: alice.accessToken, body: [1] }), 400, 'M_BAD_JSON');
    expectMatrixError(
      await request('PUT', path, {
        token: alice.accessToken,
        rawBody: '{"com.example.x": ',
        headers: { 'Content-Type': 'application/json' },
      }),
      400,
      'M_NOT_JSON',
    );
  });
});

describe('profile fields: permissions and check order', () => {
  it("forbids writing and deleting another user's fields, and leaves them unchanged", async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    await expectPut(bob, 'com.example.x', 'bob');
    expectMatrixError(await put(alice, 'com.example.x', 'alice', bob.userId), 403, 'M_FORBIDDEN');
    expectMatrixError(await del(alice, 'com.example.x', bob.userId), 403, 'M_FORBIDDEN');
    expect((await getField(bob.userId, 'com.example.x')).body).toEqual({ 'com.example.x': 'bob' });
  });

  it('forbids the disallowed field org.example.forbidden', async () => {
    const alice = await registerUser('alice');
    expectMatrixError(await put(alice, 'org.example.forbidden', 'x'), 403, 'M_FORBIDDEN');
    expectMatrixError(await getField(alice.userId, 'org.example.forbidden'), 404, 'M_NOT_FOUND');
  });

  it('checks the user ID in the path before the access token', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const response = await request(method, `${CLIENT_V3}/profile/not-a-user/m.tz`, method === 'PUT' ? { body: { 'm.tz': 'UTC' } } : {});
      expectMatrixError(response, 400, 'M_INVALID_PARAM');
    }
  });

  it('checks the access token before the key', async () => {
    const alice = await registerUser('alice');
    expectMatrixError(await request('PUT', profilePath(alice.userId, 'M.tz'), { body: { 'M.tz': 'UTC' } }), 401, 'M_MISSING_TOKEN');
    expectMatrixError(await request('PUT', profilePath(alice.userId, 'x'.repeat(256)), { body: {} }), 401, 'M_MISSING_TOKEN');
    expectMatrixError(await request('DELETE', profilePath(alice.userId, 'M.tz')), 401, 'M_MISSING_TOKEN');
    expectMatrixError(
      await request('PUT', profilePath(alice.userId, 'm.tz'), { token: 'mxp1_not-a-token', body: { 'm.tz': 'UTC' } }),
      401,
      'M_UNKNOWN_TOKEN',
    );
  });

  it('checks the key before the body', async () => {
    const alice = await registerUser('alice');
    const invalidKey = await request('PUT', profilePath(alice.userId, 'M.tz'), { token: alice.accessToken, body: [1] });
    expectMatrixError(invalidKey, 400, 'M_INVALID_PARAM');
    const longKey = await request('PUT', profilePath(alice.userId, 'x'.repeat(256)), { token: alice.accessToken, body: { other: 1 } });
    expectMatrixError(longKey, 400, 'M_KEY_TOO_LARGE');
  });

  it("checks the body before permission on another user's profile", async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const missing = await request('PUT', profilePath(bob.userId, 'com.example.x'), { token: alice.accessToken, body: { other: 1 } });
    expectMatrixError(missing, 400, 'M_MISSING_PARAM');
    const invalidKey = await request('PUT', profilePath(bob.userId, 'M.tz'), { token: alice.accessToken, body: { 'M.tz': 'UTC' } });
    expectMatrixError(invalidKey, 400, 'M_INVALID_PARAM');
    expectMatrixError(await put(alice, 'com.example.x', 1, bob.userId), 403, 'M_FORBIDDEN');
  });
});

describe('profile size limit', () => {
  it('accepts a profile of exactly 64 KiB and rejects one byte more with 400 M_PROFILE_TOO_LARGE', async () => {
    const alice = await registerUser('alice');
    // "ë" is two bytes in UTF-8 (C3 AB) and six as a \u escape: the limit counts the former.
    await expectPut(alice, 'displayname', 'Zoë');
    expect(await currentProfile(alice.userId)).toEqual({ displayname: 'Zoë' });
    const key = 'com.example.fill';
    // The canonical JSON, by hand (keys sorted, no whitespace): {"com.example.fill":"<filler>","displayname":"Zoë"}
    // `{"com.example.fill":"` is 1 + 18 + 1 + 1 = 21 bytes and `","displayname":"Zoë"}` 1 + 1 + 13 + 1 + 6 + 1 = 23:
    // the filler makes up the other 65 536 - 44 = 65 492.
    const filler = 'f'.repeat(65_492);
    expect(Buffer.byteLength(`{"${key}":"${filler}","displayname":"Zoë"}`)).toBe(MAX_PROFILE_BYTES);

    await expectPut(alice, key, filler);
    const full = await currentProfile(alice.userId);
    expect(full).toEqual({ displayname: 'Zoë', [key]: filler });

    // One more byte, by growing an existing field: rejected, old value kept.
    expectMatrixError(await put(alice, key, `${filler}f`), 400, 'M_PROFILE_TOO_LARGE');
    expect((await getField(alice.userId, key)).body).toEqual({ [key]: filler });
    // A new field: rejected, absent.
    expectMatrixError(await put(alice, 'com.example.more', 1), 400, 'M_PROFILE_TOO_LARGE');
    expectMatrixError(await getField(alice.userId, 'com.example.more'), 404, 'M_NOT_FOUND');
    // displayname counts too.
    expectMatrixError(await put(alice, 'displayname', 'Zoë Liddell'), 400, 'M_PROFILE_TOO_LARGE');
    expect((await getField(alice.userId, 'displayname')).body).toEqual({ displayname: 'Zoë' });
    expect(await currentProfile(alice.userId)).toEqual(full);

    // Shrinking makes room again.
    await expectPut(alice, key, 'small');
    await expectPut(alice, 'com.example.more', 1);
    expect((await getField(alice.userId, 'com.example.more')).body).toEqual({ 'com.example.more': 1 });
  });

  it('measures multi-byte characters in UTF-8 bytes', async () => {
    const alice = await registerUser('alice');
    // 25 000 × "é" is 50 000 bytes: one fits, two do not.
    const value = 'é'.repeat(25_000);
    await expectPut(alice, 'com.example.one', value);
    expectMatrixError(await put(alice, 'com.example.two', value), 400, 'M_PROFILE_TOO_LARGE');
    expectMatrixError(await getField(alice.userId, 'com.example.two'), 404, 'M_NOT_FOUND');
    expect((await getField(alice.userId, 'com.example.one')).body).toEqual({ 'com.example.one': value });
  });

  it('never lets concurrent writes together exceed the limit', async () => {
    const alice = await registerUser('alice');
    const keys = Array.from({ length: 6 }, (_, i) => `com.example.race${i}`);
    const values = keys.map((_, i) => String(i).repeat(20_000));
    const responses = await Promise.all(keys.map((key, i) => put(alice, key, values[i])));

    for (const response of responses) {
      if (response.status !== 200) expectMatrixError(response, 400, 'M_PROFILE_TOO_LARGE');
    }
    const statuses = responses.map((response) => response.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(400);

    const profile = await currentProfile(alice.userId);
    expect(plainProfileBytes(profile)).toBeLessThanOrEqual(MAX_PROFILE_BYTES);
    keys.forEach((key, i) => {
      if (statuses[i] === 200) expect(profile[key], key).toBe(values[i]);
      else expect(profile, key).not.toHaveProperty([key]);
    });
  });
});

describe('rate limit and request size', () => {
  it('limits profile writes per user with 429 M_LIMIT_EXCEEDED, retry_after_ms and Retry-After', async () => {
    const alice = await registerUser('alice');
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => put(alice, 'com.example.counter', i)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    const limited = responses.filter((response) => response.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const response of limited) {
      expectMatrixError(response, 429, 'M_LIMIT_EXCEEDED');
      expect(response.body['retry_after_ms']).toBeTypeOf('number');
      const retryAfter = response.headers.get('retry-after');
      expect(retryAfter).toMatch(/^\d+$/);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    }
  });

  it('does not limit other users', async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    await Promise.all(Array.from({ length: 40 }, (_, i) => put(alice, 'com.example.counter', i)));
    await expectPut(bob, 'com.example.counter', 1);
  });

  it('answers a body over the request size limit with 413 M_TOO_LARGE', async () => {
    const alice = await registerUser('alice');
    const response = await put(alice, 'com.example.huge', 'h'.repeat(300_000));
    expectMatrixError(response, 413, 'M_TOO_LARGE');
    expectMatrixError(await getField(alice.userId, 'com.example.huge'), 404, 'M_NOT_FOUND');
  });
});

describe('GET /capabilities', () => {
  it('advertises m.profile_fields with the disallowed list, and displayname/avatar changes', async () => {
    const alice = await registerUser('alice');
    const response = await request<{ capabilities: Record<string, unknown> }>('GET', `${CLIENT_V3}/capabilities`, {
      token: alice.accessToken,
    });
    expectStatus(response, 200);
    expect(response.body.capabilities['m.profile_fields']).toEqual({ enabled: true, disallowed: ['org.example.forbidden'] });
    expect(response.body.capabilities['m.set_displayname']).toEqual({ enabled: true });
    expect(response.body.capabilities['m.set_avatar_url']).toEqual({ enabled: true });
  });

  it('requires an access token', async () => {
    expectMatrixError(await request('GET', `${CLIENT_V3}/capabilities`), 401, 'M_MISSING_TOKEN');
  });
});

describe('profile changes in /sync', () => {
  it('shows a set m.status in an initial sync and its deletion as null in an incremental one', async () => {
    const alice = await registerUser('alice');
    const filter = profileFilter('m.status');
    const before = await request<{ next_batch: string }>('GET', `${CLIENT_V3}/sync?filter=${filter}`, { token: alice.accessToken });
    expectStatus(before, 200);

    await expectPut(alice, 'm.status', { text: 'hi' });
    expect((await getField(alice.userId, 'm.status')).body).toEqual({ 'm.status': { text: 'hi' } });
    // Wait (long-poll, no sleeping) until the change reached the sync side.
    const woken = await request('GET', `${CLIENT_V3}/sync?timeout=20000&since=${before.body.next_batch}&filter=${filter}`, {
      token: alice.accessToken,
    });
    expectStatus(woken, 200);
    expect(woken.body[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'm.status': { text: 'hi' } } } });

    const initial = await request<Record<string, unknown> & { next_batch: string }>('GET', `${CLIENT_V3}/sync?filter=${filter}`, {
      token: alice.accessToken,
    });
    expectStatus(initial, 200);
    expect(initial.body[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'm.status': { text: 'hi' } } } });

    const deleted = await del(alice, 'm.status');
    expectStatus(deleted, 200);
    const incremental = await request('GET', `${CLIENT_V3}/sync?timeout=20000&since=${initial.body.next_batch}&filter=${filter}`, {
      token: alice.accessToken,
    });
    expectStatus(incremental, 200);
    expect(incremental.body[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'm.status': null } } });
  });
});
