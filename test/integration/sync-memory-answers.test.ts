import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath, runDuringFile } from '../support/accounts.js';
import { profileFilter, registerUser, request, type TestUser } from '../support/matrix-client.js';
import { metricValue, until } from '../support/observe.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { createRoomOk, joinRoomById, leaveRoom } from '../support/rooms.js';

/**
 * A woken long-poll answered from a sync API replica's memory (MemoryAnswers: the recent changes
 * the projector announced and the user's cached membership view) must be the answer the
 * projection gives. Two extra replicas of the same stack: one keeps recent changes (the default),
 * one keeps none (MX_SYNC_RECENT_CHANGES_BYTES=0, so it always reads the database). Random
 * histories of profile writes, removals, joins and leaves by a few users over two rooms; after
 * each step a token; at the end, every user syncs from every token on both replicas, and the
 * answers must be equal. The memory replica must have answered some of them from memory.
 */
const USERS = 4;
const FIELDS = ['com.example.a', 'com.example.b'] as const;
const RUNS = Number(process.env.MX_MEMORY_RUNS ?? 6);

type Op =
  | { kind: 'set'; user: number; field: (typeof FIELDS)[number]; value: string | number | { nested: number[] } }
  | { kind: 'delete'; user: number; field: (typeof FIELDS)[number] }
  | { kind: 'join' | 'leave'; user: number; room: number };

/** Whether token `a`'s positions are at or past token `b`'s in every partition (tokens are m1_<epoch>_<profile>_<membership>, base 36). */
function reaches(a: string, b: string): boolean {
  const offsets = (token: string) =>
    token
      .split('_')
      .slice(2)
      .flatMap((part) => part.split('.').map((offset) => parseInt(offset, 36)));
  const [mine, theirs] = [offsets(a), offsets(b)];
  return mine.length === theirs.length && mine.every((offset, index) => offset >= theirs[index]!);
}

const user = fc.integer({ min: 0, max: USERS - 1 });
const field = fc.constantFrom(...FIELDS);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      user,
      field,
      value: fc.oneof(
        fc.constantFrom('UTC', 'Europe/Paris'),
        fc.integer({ min: 0, max: 9 }),
        fc.record({ nested: fc.array(fc.nat(9), { maxLength: 3 }) }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), user, field }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom('join' as const, 'leave' as const), user, room: fc.integer({ min: 0, max: 1 }) }),
  },
);

describe('answers from memory', () => {
  const memory = extraService('sync-api', 'sync-api-memory', PORT_OFFSETS.syncMemoryAnswers.memory);
  const database = extraService('sync-api', 'sync-api-database', PORT_OFFSETS.syncMemoryAnswers.database, {
    MX_SYNC_RECENT_CHANGES_BYTES: '0',
  });
  let users: TestUser[] = [];
  runDuringFile(memory, database);

  beforeAll(async () => {
    users = await Promise.all(Array.from({ length: USERS }, (_, index) => registerUser(`memory${index}`)));
  }, 30_000);

  const filter = profileFilter(...FIELDS);
  async function sync(replica: string, who: TestUser, since?: string): Promise<Record<string, unknown> & { next_batch: string }> {
    const response = await request<Record<string, unknown> & { next_batch: string }>(
      'GET',
      `${CLIENT_V3}/sync?filter=${filter}&timeout=0${since ? `&since=${since}` : ''}`,
      { token: who.accessToken, baseUrl: replica },
    );
    expectStatus(response, 200);
    return response.body;
  }

  async function apply(step: Op, rooms: readonly string[]): Promise<void> {
    const who = users[step.user]!;
    if (step.kind === 'set') {
      expectStatus(
        await request('PUT', profilePath(who.userId, step.field), { token: who.accessToken, body: { [step.field]: step.value } }),
        200,
      );
    } else if (step.kind === 'delete') {
      expectStatus(await request('DELETE', profilePath(who.userId, step.field), { token: who.accessToken }), 200);
    } else if (step.kind === 'join') {
      expectStatus(await joinRoomById(who, rooms[step.room]!), 200);
    } else {
      // Leaving a room one is not in is refused (403): the history goes on either way.
      await leaveRoom(who, rooms[step.room]!);
    }
  }

  it('equal the answers read from the projection, for every user and every token of random histories', async () => {
    const answeredBefore = (await metricValue(memory.url, 'mx_sync_memory_answers_total', 'outcome="answered"')) ?? 0;
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), async (ops) => {
        // Two public rooms of this run; everyone starts in the first.
        const rooms = [await createRoomOk(users[0]!, { preset: 'public_chat' }), await createRoomOk(users[0]!, { preset: 'public_chat' })];
        for (const other of users.slice(1)) expectStatus(await joinRoomById(other, rooms[0]!), 200);
        const tokens = [(await sync(memory.url, users[0]!)).next_batch];
        for (const step of ops) {
          await apply(step, rooms);
          tokens.push((await sync(memory.url, users[0]!)).next_batch);
        }
        // Both replicas have heard this run's every commit: an answer from the first token reaches the last one.
        const last = tokens.at(-1)!;
        for (const replica of [memory.url, database.url]) {
          await until('the replica to hear the last commit', async () =>
            reaches((await sync(replica, users[0]!, tokens[0])).next_batch, last) ? true : undefined,
          );
        }
        for (const since of tokens) {
          for (const who of users) {
            const { next_batch: memoryBatch, ...fromMemory } = await sync(memory.url, who, since);
            const { next_batch: databaseBatch, ...fromDatabase } = await sync(database.url, who, since);
            // Other test files write meanwhile (never in this run's rooms): the positions may differ, the data may not.
            expect(fromMemory, `${who.userId} since ${since}`).toEqual(fromDatabase);
            expect(reaches(memoryBatch, last) && reaches(databaseBatch, last)).toBe(true);
            compared++;
          }
        }
      }),
      { numRuns: RUNS },
    );
    const answered = ((await metricValue(memory.url, 'mx_sync_memory_answers_total', 'outcome="answered"')) ?? 0) - answeredBefore;
    // Not vacuous: many of the comparisons were answered from memory, and the other replica never answers from memory.
    expect(answered).toBeGreaterThan(compared / 4);
    expect((await metricValue(database.url, 'mx_sync_memory_answers_total', 'outcome="answered"')) ?? 0).toBe(0);
    console.log(`answers from memory: ${answered} of ${compared} comparisons`);
  }, 240_000);
});
