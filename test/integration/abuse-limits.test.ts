import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafkaClient, EventLogRecordsTooLargeError, KafkajsAdmin, KafkajsProducer } from '@mx/event-log';
import { CLIENT_V3, PASSWORD, expectMatrixError, expectStatus, extraWriter } from '../support/accounts.js';
import { type MatrixResponse, type TestUser, registerUser, request, uniqueLocalpart } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { createRoom, createRoomOk, forgetRoom, joinRoomById, leaveRoom, membershipAction, membershipOf } from '../support/rooms.js';

/**
 * Resource abuse and small authorization leaks (issue 12, parts 4 and 5): the invite cap of
 * createRoom, a createRoom whose events cannot fit the event log (a 4xx, never a retryable 503),
 * the rate limits of login, registration and room creation per client address and per account,
 * a non-member's unban and forgetting a room never joined.
 *
 * The rate limits run against a writer of this file's own (same database and topics) with small
 * limits and an hour-long window, so nothing expires during a run: no sleeps, no timing. Requests
 * go to it directly with an X-Forwarded-For of our choosing (Fastify trusts the proxy header, as
 * behind the router), so each test has client addresses of its own.
 */
const stack = inject('stack');
const SERVER = stack.serverName;
const LIMITS = {
  MX_LOGIN_RATE_LIMIT_PER_ADDRESS: '6',
  MX_LOGIN_RATE_LIMIT_PER_ACCOUNT: '3',
  MX_LOGIN_RATE_WINDOW_MS: '3600000',
  MX_REGISTRATION_RATE_LIMIT_PER_ADDRESS: '3',
  MX_REGISTRATION_RATE_WINDOW_MS: '3600000',
  MX_CREATE_ROOM_RATE_LIMIT_PER_ACCOUNT: '2',
  MX_CREATE_ROOM_RATE_LIMIT_PER_ADDRESS: '4',
  MX_CREATE_ROOM_RATE_WINDOW_MS: '3600000',
  // High enough to let a createRoom reach the event log's size limit.
  MX_CREATE_ROOM_MAX_INVITES: '10000',
};
const writer = extraWriter('writer-abuse-limits', PORT_OFFSETS.abuseLimits.writer, LIMITS);

beforeAll(async () => {
  writer.start();
  await writer.waitReady();
});
afterAll(async () => {
  await writer.stop();
});

/** A request to this file's writer from client address `address`. */
function from<T = Record<string, unknown>>(
  address: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {},
): Promise<MatrixResponse<T>> {
  return request<T>(method, path, { ...options, baseUrl: writer.url, headers: { 'X-Forwarded-For': address } });
}

function login(address: string, user: string, password: string): Promise<MatrixResponse> {
  return from(address, 'POST', `${CLIENT_V3}/login`, {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password },
  });
}

function register(address: string, body: Record<string, unknown>): Promise<MatrixResponse> {
  return from(address, 'POST', `${CLIENT_V3}/register`, { body });
}

function createRoomFrom(address: string, user: TestUser, body: Record<string, unknown> = {}): Promise<MatrixResponse> {
  return from(address, 'POST', `${CLIENT_V3}/createRoom`, { body, token: user.accessToken });
}

/** 429 M_LIMIT_EXCEEDED with a positive `retry_after_ms` and a Retry-After header in whole seconds. */
function expectLimited(response: MatrixResponse): void {
  expectMatrixError(response, 429, 'M_LIMIT_EXCEEDED');
  expect(response.body['retry_after_ms']).toBeTypeOf('number');
  expect(response.body['retry_after_ms'] as number).toBeGreaterThan(0);
  const retryAfter = response.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
}

/** `count` user IDs to invite (nobody has to exist to be invited); short, so many fit one request body. */
function invitees(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `@i${index}:${SERVER}`);
}

describe('createRoom size', () => {
  it('refuses more invites than MX_CREATE_ROOM_MAX_INVITES (100 by default) with 400 M_INVALID_PARAM, and claims no alias', async () => {
    const alice = await registerUser('cap');
    const alias = uniqueLocalpart('cap');
    const refused = await createRoom(alice, { invite: invitees(101), room_alias_name: alias });
    expectMatrixError(refused, 400, 'M_INVALID_PARAM');
    const atTheCap = await createRoom(alice, { invite: invitees(100), room_alias_name: alias });
    expectStatus(atTheCap, 200);
    expect(atTheCap.body.room_alias).toBe(`#${alias}:${SERVER}`);
  });

  it('answers a createRoom whose events cannot fit the event log with 413 M_TOO_LARGE, never 503, and writes nothing', async () => {
    // 6,000 invites (about 120 KB of request, within the body limit) with trusted_private_chat:
    // 6,000 invite events plus 6,000 power-level entries, well over what one Kafka batch holds.
    const alice = await registerUser('huge');
    const alias = uniqueLocalpart('huge');
    const body = { preset: 'trusted_private_chat', invite: invitees(6000), room_alias_name: alias };
    expect(JSON.stringify(body).length).toBeLessThan(256 * 1024);
    const refused = await createRoomFrom('192.0.2.200', alice, body);
    expectMatrixError(refused, 413, 'M_TOO_LARGE');
    // The refusal is final: the same request is refused the same way (a 503 would have said "retry").
    expectMatrixError(await createRoomFrom('192.0.2.201', alice, body), 413, 'M_TOO_LARGE');
    // Nothing was appended: the alias was released, and the room it would have named never existed.
    const again = await createRoom(alice, { room_alias_name: alias });
    expectStatus(again, 200);
    expect(again.body.room_alias).toBe(`#${alias}:${SERVER}`);
  });
});

describe('event log appends too large for the broker', () => {
  const kafka = createKafkaClient(
    {
      brokers: stack.env['MX_KAFKA_BROKERS']!.split(','),
      clientId: 'abuse-limits-test',
      ssl: false,
      connectionTimeoutMs: 3000,
      requestTimeoutMs: 30_000,
    },
    { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  );
  const admin = new KafkajsAdmin(kafka);
  const topic = `${stack.env['MX_TOPIC_PREFIX']}.abuse-too-large`;
  const producers: KafkajsProducer[] = [];
  const producer = (maxPartitionBatchBytes?: number): KafkajsProducer => {
    const made = new KafkajsProducer(kafka, 5000, maxPartitionBatchBytes);
    producers.push(made);
    return made;
  };

  beforeAll(async () => {
    // A topic whose brokers take batches of at most 4 KiB: the broker, not our check, refuses.
    await admin.ensureTopics([{ name: topic, partitions: 1, replicationFactor: 1, config: { 'max.message.bytes': '4096' } }]);
  });
  afterAll(async () => {
    await Promise.allSettled(producers.map((made) => made.disconnect()));
    await admin.deleteTopics([topic]);
    await admin.close();
  });

  it("maps the broker's MESSAGE_TOO_LARGE to EventLogRecordsTooLargeError, and the producer goes on", async () => {
    const appender = producer();
    const error: unknown = await appender
      .append(topic, [{ key: 'k', value: Buffer.alloc(20_000, 120) }])
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventLogRecordsTooLargeError);
    const [position] = await appender.append(topic, [{ key: 'k', value: Buffer.from('small') }]);
    expect(position).toMatchObject({ topic, partition: 0 });
  });

  it('refuses, before sending anything, records of one partition larger than one batch may hold', async () => {
    const appender = producer(10_000);
    const before = await admin.endOffsets(topic);
    const error: unknown = await appender
      .append(topic, [
        { key: 'k', value: Buffer.alloc(6000, 120) },
        { key: 'k', value: Buffer.alloc(6000, 120) },
      ])
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventLogRecordsTooLargeError);
    expect(error).toMatchObject({ limitBytes: 10_000 });
    expect((error as EventLogRecordsTooLargeError).bytes).toBeGreaterThan(12_000);
    expect(await admin.endOffsets(topic)).toEqual(before);
  });
});

describe('login rate limits (3 attempts per account, 6 per client address)', () => {
  it('counts wrong passwords against the account from any address, however the account is spelled; then even the right password is 429', async () => {
    const victim = await registerUser('victim');
    for (const [address, user] of [
      ['198.51.100.1', victim.username],
      ['198.51.100.2', victim.userId],
      ['198.51.100.3', victim.username.toUpperCase()],
    ] as const) {
      expectMatrixError(await login(address, user, 'wrong password'), 403, 'M_FORBIDDEN');
    }
    expectLimited(await login('198.51.100.4', victim.username, 'wrong password'));
    expectLimited(await login('198.51.100.5', victim.username, PASSWORD));
    // The addresses themselves are not limited: another account logs in from the first one.
    const other = await registerUser('other');
    expectStatus(await login('198.51.100.1', other.username, PASSWORD), 200);
  });

  it('counts wrong passwords against the client address, whatever accounts they name', async () => {
    const address = '198.51.100.10';
    for (let index = 0; index < 6; index++) {
      expectMatrixError(await login(address, uniqueLocalpart('guess'), 'wrong password'), 403, 'M_FORBIDDEN');
    }
    const real = await registerUser('real');
    expectLimited(await login(address, real.username, 'wrong password'));
    expectLimited(await login(address, real.username, PASSWORD));
    // Refused by the address limit first, those attempts did not count against the account.
    expectStatus(await login('198.51.100.11', real.username, PASSWORD), 200);
  });
});

describe('registration rate limit (3 requests per client address, IPv6 by /64)', () => {
  it('limits every registration request of an address, User-Interactive Auth steps included', async () => {
    const username = uniqueLocalpart('reg');
    const challenge = await register('2001:db8:aa:1::1', { username, password: PASSWORD });
    expectStatus(challenge, 401);
    const done = await register('2001:db8:aa:1::1', {
      username,
      password: PASSWORD,
      auth: { type: 'm.login.dummy', session: challenge.body['session'] },
    });
    expectStatus(done, 200);
    // Another address of the same /64 is the same client.
    expectStatus(
      await register('2001:db8:aa:1::2', { username: uniqueLocalpart('reg'), password: PASSWORD, auth: { type: 'm.login.dummy' } }),
      200,
    );
    const refusedName = uniqueLocalpart('reg');
    expectLimited(await register('2001:db8:aa:1::3', { username: refusedName, password: PASSWORD, auth: { type: 'm.login.dummy' } }));
    const available = await request('GET', `${CLIENT_V3}/register/available?username=${encodeURIComponent(refusedName)}`);
    expect(available.body).toEqual({ available: true });
    // Another /64 is another client.
    expectStatus(await register('2001:db8:aa:2::1', { username: refusedName, password: PASSWORD, auth: { type: 'm.login.dummy' } }), 200);
  });
});

describe('createRoom rate limits (2 per account, 4 per client address)', () => {
  it('limits the rooms one user creates, from any address', async () => {
    const [creator, other] = await Promise.all([registerUser('rooms'), registerUser('rooms')]);
    expectStatus(await createRoomFrom('203.0.113.1', creator), 200);
    expectStatus(await createRoomFrom('203.0.113.2', creator), 200);
    expectLimited(await createRoomFrom('203.0.113.3', creator));
    expectStatus(await createRoomFrom('203.0.113.3', other), 200);
  });

  it('limits the rooms one client address creates, for any users', async () => {
    const creators = await Promise.all(Array.from({ length: 5 }, () => registerUser('rooms')));
    for (const creator of creators.slice(0, 4)) expectStatus(await createRoomFrom('203.0.113.10', creator), 200);
    expectLimited(await createRoomFrom('203.0.113.10', creators[4]!));
    expectStatus(await createRoomFrom('203.0.113.11', creators[4]!), 200);
  });
});

describe('no membership, no information', () => {
  it("answers a non-member's unban with the 403 of any other non-member action, whether the target is banned or not", async () => {
    const [alice, bob, carol, dave] = await Promise.all([
      registerUser('unban'),
      registerUser('unban'),
      registerUser('unban'),
      registerUser('unban'),
    ]);
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    expectStatus(await joinRoomById(bob, roomId), 200);
    expectStatus(await membershipAction(alice, 'ban', roomId, bob.userId), 200);

    const unbanBanned = await membershipAction(carol, 'unban', roomId, bob.userId);
    const unbanNotBanned = await membershipAction(carol, 'unban', roomId, dave.userId);
    const kick = await membershipAction(carol, 'kick', roomId, alice.userId);
    const invite = await membershipAction(carol, 'invite', roomId, dave.userId);
    for (const response of [unbanBanned, unbanNotBanned, kick, invite]) expectMatrixError(response, 403, 'M_FORBIDDEN');
    expect(unbanNotBanned.body).toEqual(unbanBanned.body);
    expect(kick.body).toEqual(unbanBanned.body);
    expect(invite.body).toEqual(unbanBanned.body);

    // A former member is a non-member too.
    expectStatus(await joinRoomById(carol, roomId), 200);
    expectStatus(await leaveRoom(carol, roomId), 200);
    expect((await membershipAction(carol, 'unban', roomId, bob.userId)).body).toEqual(unbanBanned.body);
    expect((await membershipAction(carol, 'unban', roomId, dave.userId)).body).toEqual(unbanBanned.body);
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('ban');
  });

  it('answers forgetting a room never joined with 404 M_NOT_FOUND, the same as an unknown room', async () => {
    const [alice, bob, carol] = await Promise.all([registerUser('forget'), registerUser('forget'), registerUser('forget')]);
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    const neverJoined = await forgetRoom(carol, roomId);
    expectMatrixError(neverJoined, 404, 'M_NOT_FOUND');
    const unknown = await forgetRoom(carol, `!${uniqueLocalpart('nope')}:${SERVER}`);
    expectMatrixError(unknown, 404, 'M_NOT_FOUND');
    expect(unknown.body).toEqual(neverJoined.body);
    // A room left can be forgotten, as before.
    expectStatus(await joinRoomById(bob, roomId), 200);
    expectStatus(await leaveRoom(bob, roomId), 200);
    expectStatus(await forgetRoom(bob, roomId), 200);
  });
});
