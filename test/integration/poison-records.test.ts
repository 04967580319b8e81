import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { createKafkaClient } from '@mx/event-log';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectMatrixError } from '../support/accounts.js';
import { registerUser, request, type TestUser } from '../support/matrix-client.js';
import { psql } from '../support/own-infra.js';
import { createRoomOk, stateContent } from '../support/rooms.js';

/**
 * Defence in depth behind the writer's validation: records produced straight onto the topics
 * (bypassing the writer) that the projection can never apply — bytes that are not an event,
 * values PostgreSQL refuses (NUL, unpaired surrogates), values the database's columns refuse (a
 * timestamp beyond bigint) — between good records of the same partition. The good ones are
 * applied, the poison ones end in dead_letters (refused by id to any writer waiting on them), and
 * the partition keeps taking writes.
 */
const stack = inject('stack');
const database = stack.env['MX_DATABASE_NAME']!;
const profileTopic = `${stack.env['MX_TOPIC_PREFIX']}.profile.v1`;
const membershipTopic = `${stack.env['MX_TOPIC_PREFIX']}.membership.v1`;
const profile = (userId: string, field: string) => `/_matrix/client/v3/profile/${encodeURIComponent(userId)}/${field}`;

let producer: Producer;

beforeAll(async () => {
  // The project's own client factory (it carries the kafkajs request-queue fix), silent.
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const kafka = createKafkaClient(
    {
      clientId: 'poison-records-test',
      brokers: stack.env['MX_KAFKA_BROKERS']!.split(','),
      ssl: false,
      connectionTimeoutMs: 5000,
      requestTimeoutMs: 10_000,
    },
    quiet,
  );
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer.disconnect();
});

async function produce(topic: string, key: string, values: (string | Buffer)[]): Promise<{ partition: number; offsets: number[] }> {
  const [metadata] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key, value })) });
  const first = Number(metadata!.baseOffset);
  return { partition: metadata!.partition, offsets: values.map((_, index) => first + index) };
}

/** Resolves once `check` holds, polling the real system; fails with `what` after 20 s. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function rows(sql: string): Promise<string[]> {
  const { stdout } = await psql(sql, database);
  return stdout.split('\n').filter((line) => line !== '');
}

function profileSet(userId: string, field: string, value: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ v: 1, id: randomUUID(), type: 'profile.field.set', user_id: userId, field, value, ts: Date.now(), ...extra });
}

async function fieldValue(user: TestUser, field: string): Promise<unknown> {
  const response = await request(`GET`, profile(user.userId, field));
  return response.status === 200 ? response.body[field] : undefined;
}

describe('poison records on the topics', () => {
  it('sets aside profile records the projection cannot store and keeps applying the partition', async () => {
    const alice = await registerUser('poison');
    const nulId = randomUUID();
    const surrogateId = randomUUID();
    const hugeTsId = randomUUID();
    const { partition, offsets } = await produce(profileTopic, alice.userId, [
      profileSet(alice.userId, 'com.example.before', 'good-1'),
      Buffer.from([0xff, 0x00, 0x7b]),
      JSON.stringify({
        v: 1,
        id: nulId,
        type: 'profile.field.set',
        user_id: alice.userId,
        field: 'com.example.p',
        value: 'a\u0000b',
        ts: 1,
      }),
      JSON.stringify({
        v: 1,
        id: surrogateId,
        type: 'profile.field.set',
        user_id: alice.userId,
        field: 'com.example.p',
        value: '\ud800',
        ts: 1,
      }),
      // Decodable and storable as JSON, but updated_ts is a bigint column: the database refuses it.
      profileSet(alice.userId, 'com.example.p', 'x', { id: hugeTsId, ts: 1e300 }),
      profileSet(alice.userId, 'com.example.after', 'good-2'),
    ]);

    await eventually(
      'the good records after the poison are applied',
      async () => (await fieldValue(alice, 'com.example.after')) === 'good-2',
    );
    expect(await fieldValue(alice, 'com.example.before')).toBe('good-1');
    expect(await fieldValue(alice, 'com.example.p')).toBeUndefined();

    const deadLetters = await rows(
      `SELECT log_offset || '|' || (payload IS NOT NULL) FROM dead_letters
       WHERE topic = '${profileTopic}' AND log_partition = ${partition} AND log_offset BETWEEN ${offsets[0]} AND ${offsets[5]} ORDER BY log_offset`,
    );
    expect(deadLetters).toEqual([offsets[1], offsets[2], offsets[3], offsets[4]].map((offset) => `${offset}|true`));
    const refused = await rows(
      `SELECT event_id || '|' || log_offset || '|' || reason FROM rejected_events WHERE event_id IN ('${nulId}', '${surrogateId}', '${hugeTsId}') ORDER BY log_offset`,
    );
    expect(refused).toEqual([
      `${nulId}|${offsets[2]}|M_BAD_JSON The change holds a value that cannot be stored`,
      `${surrogateId}|${offsets[3]}|M_BAD_JSON The change holds a value that cannot be stored`,
      `${hugeTsId}|${offsets[4]}|M_BAD_JSON The change holds a value that cannot be stored`,
    ]);

    // The partition takes writes through the API as before.
    const put = await request('PUT', profile(alice.userId, 'com.example.later'), {
      token: alice.accessToken,
      body: { 'com.example.later': 3 },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(await fieldValue(alice, 'com.example.later')).toBe(3);

    const metrics = await (await fetch(`${stack.projectorUrl}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`mx_projector_dead_letters_total\\{topic="${profileTopic.replace(/\./g, '\\.')}",cause="unstorable"[^}]*\\} 1\\b`),
    );
    expect(metrics).toMatch(
      new RegExp(`mx_projector_dead_letters_total\\{topic="${profileTopic.replace(/\./g, '\\.')}",cause="undecodable"[^}]*\\} 3\\b`),
    );
    expect(metrics).toMatch(/mx_projector_batch_failures_total\{[^}]*kind="data"[^}]*\} [1-9]/);
    expect(metrics).toMatch(
      new RegExp(
        `mx_projector_partition_stalled_seconds\\{topic="${profileTopic.replace(/\./g, '\\.')}",partition="${partition}"[^}]*\\} 0`,
      ),
    );
  });

  it('sets aside room records the projection cannot store and keeps applying the room', async () => {
    const alice = await registerUser('poison-room');
    const roomId = await createRoomOk(alice, { name: 'before' });
    const nameEvent = (name: string, extra: Record<string, unknown> = {}) => {
      const eventId = `$${randomUUID()}`;
      const event = {
        event_id: eventId,
        room_id: roomId,
        type: 'm.room.name',
        state_key: '',
        sender: alice.userId,
        origin_server_ts: Date.now(),
        content: { name },
        ...extra,
      };
      return { eventId, value: JSON.stringify({ v: 1, id: eventId, type: 'room.event', room_id: roomId, event }) };
    };
    const nul = nameEvent('a\u0000b');
    const hugeTs = nameEvent('huge', { origin_server_ts: 1e300 });
    const good = nameEvent('after');
    await produce(membershipTopic, roomId, [nul.value, hugeTs.value, good.value]);

    await eventually(
      'the good room event after the poison is applied',
      async () => (await stateContent(alice, roomId, 'm.room.name'))['name'] === 'after',
    );
    const refused = await rows(
      `SELECT event_id FROM rejected_events WHERE event_id IN ('${nul.eventId}', '${hugeTs.eventId}') ORDER BY log_offset`,
    );
    expect(refused).toEqual([nul.eventId, hugeTs.eventId]);
    expect(await rows(`SELECT count(*) FROM room_events WHERE event_id IN ('${nul.eventId}', '${hugeTs.eventId}')`)).toEqual(['0']);

    // The room (and its partition) takes membership writes as before.
    const bob = await registerUser('poison-bob');
    const invite = await request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, {
      token: alice.accessToken,
      body: { user_id: bob.userId },
    });
    expect(invite.status, JSON.stringify(invite.body)).toBe(200);
  });
});

describe('the writer refuses what the projection cannot store', () => {
  it('answers 400 M_BAD_JSON to NUL, unpaired surrogates, numbers beyond a double and deep nesting, at every entry point', async () => {
    const alice = await registerUser('hostile');
    const put = (field: string, raw: string) =>
      request('PUT', profile(alice.userId, field), {
        token: alice.accessToken,
        rawBody: raw,
        headers: { 'Content-Type': 'application/json' },
      });
    for (const raw of [
      '{"com.example.p":"a\\u0000b"}',
      '{"com.example.p":"\\ud800"}',
      '{"com.example.p":{"a\\u0000":1}}',
      '{"com.example.p":1e400}',
      `{"com.example.p":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    ]) {
      expectMatrixError(await put('com.example.p', raw), 400, 'M_BAD_JSON');
    }
    expect(await fieldValue(alice, 'com.example.p')).toBeUndefined();
    expectMatrixError(
      await request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { name: 'a\u0000b' } }),
      400,
      'M_BAD_JSON',
    );
    expectMatrixError(
      await request('POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'a\u0000b' }, password: 'x' },
      }),
      400,
      'M_BAD_JSON',
    );
    expectMatrixError(
      await request('POST', '/_matrix/client/v3/register', {
        body: { username: 'hostile-nul', password: 'x', device_id: 'D\u0000', auth: { type: 'm.login.dummy' } },
      }),
      400,
      'M_BAD_JSON',
    );
    // The router itself refuses NUL in a URI (400, still a Matrix error); the services refuse it too.
    const nulInQuery = '/_matrix/client/v3/sync?filter=a%00b';
    const nulInPath = `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/filter/a%00b`;
    expect((await request('GET', nulInQuery, { token: alice.accessToken })).status).toBe(400);
    expectMatrixError(await request('GET', nulInQuery, { token: alice.accessToken, baseUrl: stack.syncApiUrl }), 400, 'M_INVALID_PARAM');
    expectMatrixError(await request('GET', nulInPath, { token: alice.accessToken, baseUrl: stack.syncApiUrl }), 400, 'M_INVALID_PARAM');
    const inlineNul = encodeURIComponent(JSON.stringify({ room: { rooms: ['!a\u0000:x'] } }));
    expectMatrixError(await request('GET', `/_matrix/client/v3/sync?filter=${inlineNul}`, { token: alice.accessToken }), 400, 'M_BAD_JSON');
    expectMatrixError(
      await request('GET', `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/com.example.a%00`, { baseUrl: stack.writerUrl }),
      400,
      'M_INVALID_PARAM',
    );
    // Keys that name Object's members are plain keys (the ones outside the key grammar are refused as such).
    expectMatrixError(await put('constructor', '{}'), 400, 'M_MISSING_PARAM');
    for (const key of ['toString', 'hasOwnProperty', '__proto__']) expectMatrixError(await put(key, '{}'), 400, 'M_INVALID_PARAM');
    expect((await put('constructor', '{"constructor":"c"}')).status).toBe(200);
    expect(await fieldValue(alice, 'constructor')).toBe('c');
  });
});
