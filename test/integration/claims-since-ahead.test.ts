import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createKafkaClient } from '@mx/event-log';
import { CLIENT_V3, expectStatus, profilePath } from '../support/accounts.js';
import { type MatrixResponse, registerUser, request, type TestUser, USERS } from '../support/matrix-client.js';
import { createRoomOk, joinRoomById } from '../support/rooms.js';

/**
 * README, MSC4429 in /sync: a `since` token "claiming positions the log never reached starts a full
 * sync instead of failing". The token is built by hand from the documented wire format
 * (`m1_<epoch>_<profile offsets>_<membership offsets>`, base-36 offsets joined by `.`), with one
 * partition's offset past the end of the topic as the broker reports it.
 */

const FILTER = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] } });
/** Far past the log end: no other test file running beside this one can append that many records. */
const BEYOND = 1_000_000;

interface RoomEvent {
  type: string;
  state_key?: string;
}
type Users = Record<string, { profile_updates: Record<string, unknown> | null }>;
interface SyncBody {
  next_batch: string;
  rooms: { join: Record<string, { state: { events: RoomEvent[] }; timeline: { events: RoomEvent[] } }> };
  [USERS]?: Users;
}

interface Token {
  epoch: string;
  profile: number[];
  membership: number[];
}

function parseToken(token: string): Token {
  const parts = token.split('_');
  expect(parts, token).toHaveLength(4);
  expect(parts[0]).toBe('m1');
  const offsets = (text: string) => text.split('.').map((part) => parseInt(part, 36));
  return { epoch: parts[1]!, profile: offsets(parts[2]!), membership: offsets(parts[3]!) };
}

function formatToken(token: Token): string {
  const offsets = (list: number[]) => list.map((offset) => offset.toString(36)).join('.');
  return `m1_${token.epoch}_${offsets(token.profile)}_${offsets(token.membership)}`;
}

function sync(user: TestUser, query: Record<string, string>): Promise<MatrixResponse<SyncBody>> {
  return request<SyncBody>('GET', `${CLIENT_V3}/sync?${new URLSearchParams({ filter: FILTER, ...query }).toString()}`, {
    token: user.accessToken,
  });
}

describe('claim: a since token past the log end starts a full sync', () => {
  const stack = inject('stack');
  const topics = { profile: `${stack.env['MX_TOPIC_PREFIX']}.profile.v1`, membership: `${stack.env['MX_TOPIC_PREFIX']}.membership.v1` };
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const kafka = createKafkaClient(
    {
      clientId: 'test-claims-since',
      brokers: stack.env['MX_KAFKA_BROKERS']!.split(','),
      ssl: false,
      connectionTimeoutMs: 3000,
      requestTimeoutMs: 10_000,
    },
    quiet,
  );
  const admin = kafka.admin();
  /** The end of each partition of a topic (the offset the next record will get), by partition. */
  const logEnd = async (topic: string): Promise<number[]> => {
    const offsets = await admin.fetchTopicOffsets(topic);
    const ends: number[] = [];
    for (const { partition, high } of offsets) ends[partition] = Number(high);
    return ends;
  };

  beforeAll(async () => {
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it.each(['profile', 'membership'] as const)(
    'a token with one %s partition past the log end gets the initial sync, and a next_batch within the log',
    async (topic) => {
      const x = await registerUser('ahead-x');
      const y = await registerUser('ahead-y');
      for (const [user, zone] of [
        [x, 'UTC'],
        [y, 'Europe/Paris'],
      ] as const)
        expectStatus(await request('PUT', profilePath(user.userId, 'm.tz'), { token: user.accessToken, body: { 'm.tz': zone } }), 200);
      const roomId = await createRoomOk(x, { preset: 'public_chat' });
      expectStatus(await joinRoomById(y, roomId), 200);
      const everything: Users = {
        [x.userId]: { profile_updates: { 'm.tz': 'UTC' } },
        [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } },
      };

      const initial = await sync(x, {});
      expectStatus(initial, 200);
      expect(initial.body[USERS]).toEqual(everything);
      const real = parseToken(initial.body.next_batch);

      // Control: the real token is up to date for x (nothing of x's changed since): an empty incremental sync.
      const upToDate = await sync(x, { since: initial.body.next_batch, timeout: '0' });
      expectStatus(upToDate, 200);
      expect(upToDate.body).not.toHaveProperty([USERS]);
      expect(upToDate.body.rooms.join).not.toHaveProperty([roomId]);

      // The same token, one partition past the end of the topic as the broker has it now.
      const ends = await logEnd(topics[topic]);
      expect(ends).toHaveLength(real[topic].length);
      const ahead: Token = { ...real, [topic]: real[topic].map((offset, partition) => (partition === 0 ? ends[0]! + BEYOND : offset)) };
      expect(ahead[topic][0]).toBeGreaterThan(ends[0]!);

      for (const timeout of ['0', '60000']) {
        const full = await sync(x, { since: formatToken(ahead), timeout });
        expectStatus(full, 200);
        // What an initial sync gives: every requested field of x and the co-member, and the room with its state.
        expect(full.body[USERS], `timeout ${timeout}`).toEqual(everything);
        const room = full.body.rooms.join[roomId];
        const members = [...(room?.state.events ?? []), ...(room?.timeline.events ?? [])]
          .filter((event) => event.type === 'm.room.member')
          .map((event) => event.state_key);
        expect(members, `timeout ${timeout}`).toEqual(expect.arrayContaining([x.userId, y.userId]));
        // A next_batch of this log: positions the log has reached, never the claimed ones.
        const next = parseToken(full.body.next_batch);
        expect(next.epoch).toBe(real.epoch);
        const endsAfter = { profile: await logEnd(topics.profile), membership: await logEnd(topics.membership) };
        for (const name of ['profile', 'membership'] as const)
          next[name].forEach((offset, partition) =>
            expect(offset, `${name} ${partition}`).toBeLessThanOrEqual(endsAfter[name][partition]!),
          );
      }
    },
    90_000,
  );
});
