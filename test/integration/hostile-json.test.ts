import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_V3 as V3, registerUser, request, type TestUser } from '../support/matrix-client.js';
import { createRoomOk } from '../support/rooms.js';

/**
 * Arbitrary JSON thrown at every endpoint that reads a JSON body, through the router and the real
 * services: deep nesting, numbers beyond a double, keys named after Object's members, NUL and
 * unpaired surrogates, bytes that are not JSON, and plausible bodies with hostile values in every
 * field. Whatever arrives, the answer is never a 5xx and every error is a Matrix error; the
 * services still answer afterwards. MX_FUZZ_RUNS raises the number of cases (local runs); the seed
 * is printed, and a failure is shrunk to its smallest case.
 */
const stack = inject('stack');
const runs = Number(process.env['MX_FUZZ_RUNS'] ?? '150');
const seed = Number(process.env['MX_FUZZ_SEED'] ?? Date.now() % 2_147_483_647);

const enc = encodeURIComponent;

/** Raw JSON texts JSON.stringify cannot produce. */
const hostileText = fc.oneof(
  fc.constantFrom(
    '1e400',
    '-1e999',
    '123456789012345678901234567890123456789',
    '"\\ud800"',
    '"a\\u0000b"',
    '{"\\u0000":1}',
    '"\\udfff\\ud800"',
  ),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
);

/** Object keys that look things up on a plain object. */
const oddKey = fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '', 'a\u0000', '\ud800');

/** Any JSON value, with strings and keys from all of UTF-16 and odd keys mixed in. */
const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
    fc.dictionary(fc.oneof(oddKey, fc.string({ unit: 'binary', maxLength: 8 })), tie('value'), { maxKeys: 4 }),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
})).value;

/** A body: JSON of any value, a hostile text, a plausible object with hostile fields, or bytes that are not JSON. */
function body(fields: readonly string[]): fc.Arbitrary<string> {
  const field = fc.oneof(
    anyJson.map((value) => JSON.stringify(value)),
    hostileText,
  );
  const plausible = fc
    .array(fc.tuple(fc.constantFrom(...fields), field), { minLength: 1, maxLength: fields.length })
    .map((pairs) => `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`);
  return fc.oneof(
    plausible,
    plausible,
    anyJson.map((value) => JSON.stringify(value)),
    hostileText,
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
}

interface Endpoint {
  readonly name: string;
  readonly method: string;
  readonly path: (user: TestUser, roomId: string) => string;
  readonly auth: boolean;
  readonly fields: readonly string[];
}

const endpoints: readonly Endpoint[] = [
  {
    name: 'profile PUT',
    method: 'PUT',
    path: (user) => `${V3}/profile/${enc(user.userId)}/com.example.fuzz`,
    auth: true,
    fields: ['com.example.fuzz'],
  },
  {
    name: 'profile PUT displayname',
    method: 'PUT',
    path: (user) => `${V3}/profile/${enc(user.userId)}/displayname`,
    auth: true,
    fields: ['displayname'],
  },
  { name: 'profile PUT m.tz', method: 'PUT', path: (user) => `${V3}/profile/${enc(user.userId)}/m.tz`, auth: true, fields: ['m.tz'] },
  {
    name: 'filter POST',
    method: 'POST',
    path: (user) => `${V3}/user/${enc(user.userId)}/filter`,
    auth: true,
    fields: ['room', 'presence', 'event_fields', 'org.matrix.msc4429.profile_fields', 'profile_fields', 'constructor'],
  },
  {
    name: 'createRoom',
    method: 'POST',
    path: () => `${V3}/createRoom`,
    auth: true,
    fields: [
      'name',
      'topic',
      'preset',
      'visibility',
      'invite',
      'is_direct',
      'room_alias_name',
      'initial_state',
      'power_level_content_override',
      'creation_content',
    ],
  },
  {
    name: 'register',
    method: 'POST',
    path: () => `${V3}/register`,
    auth: false,
    fields: ['username', 'password', 'device_id', 'initial_device_display_name', 'auth', 'inhibit_login', 'kind'],
  },
  {
    name: 'login',
    method: 'POST',
    path: () => `${V3}/login`,
    auth: false,
    fields: ['type', 'identifier', 'user', 'password', 'device_id', 'initial_device_display_name', 'token'],
  },
  { name: 'invite', method: 'POST', path: (_, roomId) => `${V3}/rooms/${enc(roomId)}/invite`, auth: true, fields: ['user_id', 'reason'] },
  { name: 'kick', method: 'POST', path: (_, roomId) => `${V3}/rooms/${enc(roomId)}/kick`, auth: true, fields: ['user_id', 'reason'] },
  { name: 'ban', method: 'POST', path: (_, roomId) => `${V3}/rooms/${enc(roomId)}/ban`, auth: true, fields: ['user_id', 'reason'] },
  { name: 'unban', method: 'POST', path: (_, roomId) => `${V3}/rooms/${enc(roomId)}/unban`, auth: true, fields: ['user_id', 'reason'] },
  { name: 'join', method: 'POST', path: (_, roomId) => `${V3}/join/${enc(roomId)}`, auth: true, fields: ['reason', 'third_party_signed'] },
  { name: 'leave', method: 'POST', path: (_, roomId) => `${V3}/rooms/${enc(roomId)}/leave`, auth: true, fields: ['reason'] },
  { name: 'forget', method: 'POST', path: (_, roomId) => `${V3}/rooms/${enc(roomId)}/forget`, auth: true, fields: ['reason'] },
];

let user: TestUser;
let roomId: string;

beforeAll(async () => {
  user = await registerUser('fuzz');
  roomId = await createRoomOk(user, { preset: 'public_chat' });
});

describe(`arbitrary JSON at every JSON endpoint (seed ${seed}, ${runs} runs each)`, () => {
  for (const endpoint of endpoints) {
    it(`${endpoint.method} ${endpoint.name}: never a 5xx, every error a Matrix error`, async () => {
      console.log(`hostile-json ${endpoint.name}: seed ${seed}, runs ${runs} (MX_FUZZ_SEED / MX_FUZZ_RUNS)`);
      await fc.assert(
        fc.asyncProperty(body(endpoint.fields), async (raw) => {
          const response = await request(endpoint.method, endpoint.path(user, roomId), {
            rawBody: raw,
            headers: { 'Content-Type': 'application/json' },
            ...(endpoint.auth ? { token: user.accessToken } : {}),
          });
          expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
          // User-Interactive Auth answers 401 with its flows, not an error (spec: User-Interactive Authentication API).
          const interactiveAuth = response.status === 401 && Array.isArray(response.body['flows']);
          if (response.status >= 400 && !interactiveAuth) {
            expect(typeof response.body['errcode'], JSON.stringify(response.body)).toBe('string');
            expect(typeof response.body['error'], JSON.stringify(response.body)).toBe('string');
            expect(response.body['errcode']).toMatch(/^M_[A-Z_]+$/);
          }
        }),
        { numRuns: runs, seed, endOnFailure: false },
      );
    }, 120_000);
  }

  it('leaves every service ready and answering', async () => {
    for (const url of [stack.writerUrl, stack.syncApiUrl, stack.projectorUrl])
      expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    const put = await request('PUT', `${V3}/profile/${enc(user.userId)}/com.example.after`, {
      token: user.accessToken,
      body: { 'com.example.after': 1 },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const sync = await request('GET', `${V3}/sync?timeout=0`, { token: user.accessToken });
    expect(sync.status).toBe(200);
  });
});
