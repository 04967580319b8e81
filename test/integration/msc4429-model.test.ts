import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { registerUser, request, type TestUser } from '../support/matrix-client.js';
import { createRoomOk } from '../support/rooms.js';

/**
 * Model-based property test of MSC4429 through the real processes, broker and database: random
 * sequences of profile writes, deletes, joins, leaves, kicks, bans and unbans over a few users and
 * rooms, with syncs at random points. Each client keeps one randomly chosen filter for the run,
 * folds every update it receives, and after each sync its folded view must equal the truth for
 * every user it shares a room with, hold nothing about anyone else, and no response may mention
 * a user who shares no room with it (except as `null`, which tells it to forget that user).
 */
const USERS = 4;
const ROOMS = 2;
const FIELDS = ['m.tz', 'com.example.a', 'com.example.b'] as const;
const CLIENT_V3 = '/_matrix/client/v3';
const USERS_SECTION = 'org.matrix.msc4429.users';

type Field = (typeof FIELDS)[number];

/** An order-independent text of a user → field → value view, to compare two views. */
const canonical = (view: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string =>
  JSON.stringify([...view].map(([user, fields]) => [user, [...fields].map((entry) => JSON.stringify(entry)).sort()]).sort());
type Op =
  | { kind: 'set'; user: number; field: Field; value: string | number | null }
  | { kind: 'delete'; user: number; field: Field }
  | { kind: 'join' | 'leave'; user: number; room: number }
  | { kind: 'kick' | 'ban' | 'unban'; user: number; room: number }
  | { kind: 'sync'; user: number };

const user = fc.integer({ min: 0, max: USERS - 1 });
const room = fc.integer({ min: 0, max: ROOMS - 1 });
const field = fc.constantFrom(...FIELDS);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      user,
      field,
      value: fc.oneof(fc.constantFrom('UTC', 'Europe/Paris'), fc.integer({ min: 0, max: 9 }), fc.constant(null)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), user, field }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('join' as const, 'leave' as const), user, room }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('kick' as const, 'ban' as const, 'unban' as const),
      user: fc.integer({ min: 1, max: USERS - 1 }),
      room,
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), user }) },
);

/** A value for m.tz must be a zone name: the model keeps the write rules out of the picture. */
function valueFor(field: Field, value: string | number | null): unknown {
  if (field === 'm.tz') return typeof value === 'string' ? value : 'UTC';
  return value;
}

interface Client {
  readonly fields: readonly Field[];
  token: string;
  /** What the client has folded from the updates it received: user → field → value. */
  readonly view: Map<string, Map<string, unknown>>;
}

function fold(client: Client, section: Record<string, { profile_updates: Record<string, unknown> | null }> | undefined): void {
  for (const [userId, entry] of Object.entries(section ?? {})) {
    if (entry.profile_updates === null) {
      client.view.delete(userId);
      continue;
    }
    const profile = client.view.get(userId) ?? new Map<string, unknown>();
    for (const [name, value] of Object.entries(entry.profile_updates)) {
      // null: removed (a DELETE, or a literal null, which the MSC also delivers as null).
      if (value === null) profile.delete(name);
      else profile.set(name, value);
    }
    client.view.set(userId, profile);
  }
}

describe('MSC4429 model', () => {
  it('every client’s folded view equals the truth for the users it shares a room with, and nothing leaks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 10, maxLength: 30 }),
        fc.array(fc.subarray([...FIELDS], { minLength: 1 }), { minLength: USERS, maxLength: USERS }),
        async (ops, filters) => {
          const users: TestUser[] = await Promise.all(Array.from({ length: USERS }, () => registerUser('model')));
          const rooms: string[] = [];
          for (let index = 0; index < ROOMS; index++) rooms.push(await createRoomOk(users[0]!, { preset: 'public_chat' }));
          // The truth: memberships per room, and profiles (a literal null counts as absent for clients).
          const membership = rooms.map(() => new Map<number, string>([[0, 'join']]));
          const profiles = users.map(() => new Map<string, unknown>());
          const visibleTo = (viewer: number): Set<number> => {
            const visible = new Set([viewer]);
            for (const members of membership) {
              if (members.get(viewer) !== 'join') continue;
              for (const [other, state] of members) if (state === 'join') visible.add(other);
            }
            return visible;
          };

          /** One /sync: every response is checked for leaks and unrequested fields, then folded. */
          const syncStep = async (index: number, client: Client | undefined, fields: readonly Field[]): Promise<Client> => {
            const filter = encodeURIComponent(JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: fields } }));
            const since = client ? `&since=${client.token}` : '';
            const response = await request<Record<string, unknown> & { next_batch: string }>(
              'GET',
              `${CLIENT_V3}/sync?timeout=0&filter=${filter}${since}`,
              {
                token: users[index]!.accessToken,
              },
            );
            expect(response.status).toBe(200);
            const section = response.body[USERS_SECTION] as Record<string, { profile_updates: Record<string, unknown> | null }> | undefined;
            const visible = visibleTo(index);
            for (const [userId, entry] of Object.entries(section ?? {})) {
              const other = users.findIndex((candidate) => candidate.userId === userId);
              expect(other, `unknown user ${userId} in a response`).toBeGreaterThanOrEqual(0);
              if (entry.profile_updates !== null) expect(visible.has(other), `leak: user ${other} sent to ${index}`).toBe(true);
              else expect(visible.has(other), `user ${other} sent as departed to ${index} but visible`).toBe(false);
              for (const name of Object.keys(entry.profile_updates ?? {})) expect(fields, `unrequested field ${name}`).toContain(name);
            }
            const next: Client = client ?? { fields, token: '', view: new Map() };
            next.token = response.body.next_batch;
            fold(next, section);
            return next;
          };
          /** The folded view equals the truth for every visible user, and holds no one else. */
          const viewOf = (index: number, client: Client) => {
            const expected = new Map<string, Map<string, unknown>>();
            for (const other of visibleTo(index)) {
              const truth = new Map(
                [...profiles[other]!].filter(([name, value]) => client.fields.includes(name as Field) && value !== null),
              );
              if (truth.size > 0) expected.set(users[other]!.userId, truth);
            }
            return { seen: new Map([...client.view].filter(([, profile]) => profile.size > 0)), expected };
          };
          /**
           * Syncs until the view equals the truth (bounded): a sync API replica hears of a commit a
           * moment after the writer answered, so a sync right after a write may not carry it yet —
           * the next one must.
           */
          const syncOnce = async (index: number, client: Client | undefined, fields: readonly Field[]): Promise<Client> => {
            let current = await syncStep(index, client, fields);
            for (let attempt = 0; attempt < 20; attempt++) {
              const { seen, expected } = viewOf(index, current);
              if (canonical(seen) === canonical(expected)) break;
              await new Promise((resolve) => setTimeout(resolve, 100));
              current = await syncStep(index, current, fields);
            }
            const { seen, expected } = viewOf(index, current);
            expect(seen).toEqual(expected);
            return current;
          };

          // A dense start: everyone shares room 0 and has every field set, so that the random
          // operations keep changing who sees whom and what.
          for (let index = 1; index < USERS; index++) {
            const response = await request('POST', `${CLIENT_V3}/rooms/${encodeURIComponent(rooms[0]!)}/join`, {
              token: users[index]!.accessToken,
              body: {},
            });
            expect(response.status).toBe(200);
            membership[0]!.set(index, 'join');
          }
          for (let index = 0; index < USERS; index++) {
            for (const name of FIELDS) {
              const value = valueFor(name, index);
              const response = await request('PUT', `${CLIENT_V3}/profile/${encodeURIComponent(users[index]!.userId)}/${name}`, {
                token: users[index]!.accessToken,
                body: { [name]: value },
              });
              expect(response.status).toBe(200);
              profiles[index]!.set(name, value);
            }
          }

          const clients: Client[] = [];
          for (let index = 0; index < USERS; index++) clients.push(await syncOnce(index, undefined, filters[index] as Field[]));

          for (const step of ops) {
            const actor = users[step.user]!;
            switch (step.kind) {
              case 'set': {
                const value = valueFor(step.field, step.value);
                const response = await request('PUT', `${CLIENT_V3}/profile/${encodeURIComponent(actor.userId)}/${step.field}`, {
                  token: actor.accessToken,
                  body: { [step.field]: value },
                });
                expect(response.status).toBe(200);
                profiles[step.user]!.set(step.field, value);
                break;
              }
              case 'delete': {
                const response = await request('DELETE', `${CLIENT_V3}/profile/${encodeURIComponent(actor.userId)}/${step.field}`, {
                  token: actor.accessToken,
                });
                expect(response.status).toBe(200);
                profiles[step.user]!.delete(step.field);
                break;
              }
              case 'join':
              case 'leave': {
                const response = await request('POST', `${CLIENT_V3}/rooms/${encodeURIComponent(rooms[step.room]!)}/${step.kind}`, {
                  token: actor.accessToken,
                  body: {},
                });
                expect([200, 403]).toContain(response.status);
                if (response.status === 200) membership[step.room]!.set(step.user, step.kind);
                break;
              }
              default: {
                if (step.kind === 'sync') {
                  clients[step.user] = await syncOnce(step.user, clients[step.user], clients[step.user]!.fields);
                  break;
                }
                const creator = users[0]!;
                const response = await request('POST', `${CLIENT_V3}/rooms/${encodeURIComponent(rooms[step.room]!)}/${step.kind}`, {
                  token: creator.accessToken,
                  body: { user_id: actor.userId },
                });
                expect([200, 403]).toContain(response.status);
                if (response.status === 200) membership[step.room]!.set(step.user, step.kind === 'ban' ? 'ban' : 'leave');
              }
            }
          }
          for (let index = 0; index < USERS; index++) clients[index] = await syncOnce(index, clients[index], clients[index]!.fields);
        },
      ),
      { numRuns: 5, endOnFailure: true },
    );
  }, 240_000);
});
