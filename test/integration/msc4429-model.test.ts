import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_V3, registerUser, request, type TestUser, USERS as USERS_SECTION } from '../support/matrix-client.js';
import { createRoomOk } from '../support/rooms.js';

/**
 * Model-based property test of MSC4429 through the real processes, broker and database: random
 * sequences of profile writes, deletes, joins, leaves, invites, kicks, bans and unbans by any user
 * over a few users and rooms (a public room everyone starts in, and rooms of random creators,
 * presets and invitees), with syncs at random points. The model decides every membership answer
 * itself (200 or 403, from the Matrix authorization rules below, never from the server's answer)
 * and the server must agree. Each client keeps one randomly chosen filter for the run, folds every
 * update it receives, and after each sync its folded view must equal the truth for every user it
 * shares a room with, hold nothing about anyone else, and no response may mention a user who
 * shares no room with it (except as `null`, which tells it to forget that user).
 *
 * The seed is printed; MX_MODEL_SEED (and MX_MODEL_PATH, from a failure's report) replays a run,
 * MX_MODEL_RUNS runs more (e.g. 500 locally). A failure is shrunk to a smallest case.
 */
const USERS = 4;
/** Room 0: public, created by user 0, everyone joins it first. Rooms 1 and 2: random plans. */
const ROOMS = 3;
const FIELDS = ['m.tz', 'com.example.a', 'com.example.b'] as const;
/** Runs in CI: about half a second each on 2 busy cores. */
const DEFAULT_RUNS = 50;

type Field = (typeof FIELDS)[number];
type Preset = 'public_chat' | 'private_chat' | 'trusted_private_chat';
type Membership = 'join' | 'invite' | 'leave' | 'ban';
type Action = 'join' | 'leave' | 'invite' | 'kick' | 'ban' | 'unban';

/** An order-independent text of a user → field → value view, to compare two views. */
const canonical = (view: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string =>
  JSON.stringify([...view].map(([user, fields]) => [user, [...fields].map((entry) => JSON.stringify(entry)).sort()]).sort());
type Op =
  | { kind: 'set'; user: number; field: Field; value: string | number | null }
  | { kind: 'delete'; user: number; field: Field }
  | { kind: 'join' | 'leave'; user: number; room: number }
  /**
   * `user`, or the room's creator (power level 100) when `byCreator`, acts on the user `other`
   * places after them (never themselves); when `aimed`, on the `other`-th of the users the action
   * could change (kick: joined or invited, unban: banned, invite: neither joined nor banned), if any.
   */
  | { kind: 'invite' | 'kick' | 'ban' | 'unban'; user: number; byCreator: boolean; aimed: boolean; other: number; room: number }
  | { kind: 'sync'; user: number };
interface RoomPlan {
  readonly creator: number;
  readonly preset: Preset;
  /** Invited at creation (the creator left out). */
  readonly invite: readonly number[];
}

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
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('join' as const, 'leave' as const), user, room }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('invite' as const, 'kick' as const, 'ban' as const, 'unban' as const),
      user,
      byCreator: fc.boolean(),
      aimed: fc.boolean(),
      other: fc.integer({ min: 1, max: USERS - 1 }),
      room,
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), user }) },
);
const roomPlan: fc.Arbitrary<RoomPlan> = fc.record({
  creator: user,
  preset: fc.constantFrom<Preset>('public_chat', 'private_chat', 'trusted_private_chat'),
  invite: fc.subarray([...Array(USERS).keys()]),
});

/**
 * One room as the model sees it, with the parts of its state the rules need: the join rule and
 * the power levels createRoom gives each preset (spec, "Client behaviour" of createRoom: the
 * creator 100, every invitee of trusted_private_chat as much; everyone else users_default 0;
 * invite 0, kick 50, ban 50), and each user's membership.
 */
class RoomModel {
  readonly membership = new Map<number, Membership>();
  readonly levels = new Map<number, number>();
  readonly joinRule: 'public' | 'invite';
  static readonly INVITE = 0;
  static readonly KICK = 50;
  static readonly BAN = 50;

  constructor(plan: RoomPlan) {
    this.joinRule = plan.preset === 'public_chat' ? 'public' : 'invite';
    this.membership.set(plan.creator, 'join');
    this.levels.set(plan.creator, 100);
    for (const invitee of plan.invite) {
      this.membership.set(invitee, 'invite');
      if (plan.preset === 'trusted_private_chat') this.levels.set(invitee, 100);
    }
  }

  of(user: number): Membership {
    return this.membership.get(user) ?? 'leave';
  }

  level(user: number): number {
    return this.levels.get(user) ?? 0;
  }

  /**
   * Whether the m.room.member event the endpoint sends is allowed, by the Matrix authorization
   * rules for room versions 10 and 11 (section "m.room.member"), and what it makes of the target:
   * undefined when refused (403). The endpoints' own conditions, as the README documents them:
   * /kick needs the target in the room (joined or invited), /unban a banned target.
   */
  decide(action: Action, actor: number, target: number): Membership | undefined {
    const sender = this.of(actor);
    const current = this.of(target);
    const mine = this.level(actor);
    const theirs = this.level(target);
    switch (action) {
      case 'join':
        // Never when banned; a public room lets anyone in, an invite-only one the invited (and the joined, again).
        if (current === 'ban') return undefined;
        return this.joinRule === 'public' || current === 'join' || current === 'invite' ? 'join' : undefined;
      case 'leave':
        return current === 'join' || current === 'invite' ? 'leave' : undefined;
      case 'invite':
        if (sender !== 'join' || current === 'ban' || current === 'join') return undefined;
        return mine >= RoomModel.INVITE ? 'invite' : undefined;
      case 'kick':
        if (sender !== 'join') return undefined;
        if (current === 'ban') return mine >= RoomModel.BAN && mine >= RoomModel.KICK && theirs < mine ? 'leave' : undefined;
        if (current !== 'join' && current !== 'invite') return undefined;
        return mine >= RoomModel.KICK && theirs < mine ? 'leave' : undefined;
      case 'ban':
        if (sender !== 'join') return undefined;
        return mine >= RoomModel.BAN && theirs < mine ? 'ban' : undefined;
      case 'unban':
        if (sender !== 'join' || current !== 'ban') return undefined;
        return mine >= RoomModel.BAN && mine >= RoomModel.KICK && theirs < mine ? 'leave' : undefined;
    }
  }
}

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

const seed = Number(process.env['MX_MODEL_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const path = process.env['MX_MODEL_PATH'];
const numRuns = Number(process.env['MX_MODEL_RUNS'] ?? DEFAULT_RUNS);
/** A failure is shrunk until then (each step runs against the stack), and then reported as shrunk so far. */
const timeLimitMs = 120_000 + numRuns * 2_000;
const testOptions = { timeout: timeLimitMs + 60_000 };
/** How often each action got each answer, over all runs: what the runs covered. */
const decisions = new Map<string, number>();

describe('MSC4429 model', () => {
  it('answers membership commands as the rules do; each client’s view equals the truth, with no leak', testOptions, async () => {
    console.log(
      `MSC4429 model: seed ${seed}${path === undefined ? '' : `, path ${path}`}, ${numRuns} runs ` +
        `(MX_MODEL_SEED=${seed} replays them; MX_MODEL_RUNS runs more)`,
    );
    await fc.assert(
      fc.asyncProperty(
        // Up to 30 steps, and no minimum, so that a failure shrinks to the few steps it needs.
        fc.array(op, { maxLength: 30, size: 'medium' }),
        fc.array(fc.subarray([...FIELDS], { minLength: 1 }), { minLength: USERS, maxLength: USERS }),
        fc.array(roomPlan, { minLength: ROOMS - 1, maxLength: ROOMS - 1 }),
        async (ops, filters, plans) => {
          const users: TestUser[] = await Promise.all(Array.from({ length: USERS }, () => registerUser('model')));
          // The truth: memberships per room, and profiles (a literal null counts as absent for clients).
          const roomPlans: RoomPlan[] = [
            { creator: 0, preset: 'public_chat', invite: [] },
            ...plans.map((plan) => ({ ...plan, invite: plan.invite.filter((invitee) => invitee !== plan.creator) })),
          ];
          const rooms: string[] = [];
          for (const plan of roomPlans) {
            rooms.push(
              await createRoomOk(users[plan.creator]!, {
                preset: plan.preset,
                invite: plan.invite.map((invitee) => users[invitee]!.userId),
              }),
            );
          }
          const models = roomPlans.map((plan) => new RoomModel(plan));
          const profiles = users.map(() => new Map<string, unknown>());
          const visibleTo = (viewer: number): Set<number> => {
            const visible = new Set([viewer]);
            for (const model of models) {
              if (model.of(viewer) !== 'join') continue;
              for (const [other, state] of model.membership) if (state === 'join') visible.add(other);
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
          /** A membership command, answered as the model decides: 200 and its effect, or 403 and none. */
          const act = async (action: Action, actor: number, target: number, room: number) => {
            const model = models[room]!;
            const before = `${users.map((_, index) => model.of(index)).join('/')}, levels ${users.map((_, index) => model.level(index)).join('/')}`;
            const outcome = model.decide(action, actor, target);
            const self = action === 'join' || action === 'leave';
            const response = await request('POST', `${CLIENT_V3}/rooms/${encodeURIComponent(rooms[room]!)}/${action}`, {
              token: users[actor]!.accessToken,
              body: self ? {} : { user_id: users[target]!.userId },
            });
            expect(
              response.status,
              `${action} by ${actor}${self ? '' : ` of ${target}`} in room ${room} (${roomPlans[room]!.preset}; memberships ${before}): ` +
                `the rules say ${outcome === undefined ? '403' : `200 (${outcome})`}, the server ${response.status} ${JSON.stringify(response.body)}`,
            ).toBe(outcome === undefined ? 403 : 200);
            if (outcome !== undefined) model.membership.set(target, outcome);
            const decided = `${action} ${outcome === undefined ? 403 : 200}`;
            decisions.set(decided, (decisions.get(decided) ?? 0) + 1);
          };
          for (let index = 1; index < USERS; index++) await act('join', index, index, 0);
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
              case 'leave':
                await act(step.kind, step.user, step.user, step.room);
                break;
              case 'sync':
                clients[step.user] = await syncOnce(step.user, clients[step.user], clients[step.user]!.fields);
                break;
              default: {
                const byIn = (room: number) => (step.byCreator ? roomPlans[room]!.creator : step.user);
                const aimsIn = (room: number) =>
                  users
                    .map((_, candidate) => candidate)
                    .filter((candidate) => {
                      const membership = models[room]!.of(candidate);
                      if (candidate === byIn(room)) return false;
                      if (step.kind === 'kick') return membership === 'join' || membership === 'invite';
                      if (step.kind === 'unban') return membership === 'ban';
                      return step.kind === 'ban' || (membership !== 'join' && membership !== 'ban');
                    });
                // Aimed, in the first room from the step's on where the action could change someone.
                const room = step.aimed
                  ? ([0, 1, 2].map((shift) => (step.room + shift) % ROOMS).find((candidate) => aimsIn(candidate).length > 0) ?? step.room)
                  : step.room;
                const by = byIn(room);
                const aims = aimsIn(room);
                const target = step.aimed && aims.length > 0 ? aims[(step.other - 1) % aims.length]! : (by + step.other) % USERS;
                await act(step.kind, by, target, room);
              }
            }
          }
          for (let index = 0; index < USERS; index++) clients[index] = await syncOnce(index, clients[index], clients[index]!.fields);
        },
      ),
      {
        seed,
        ...(path === undefined ? {} : { path }),
        numRuns,
        // Shrinking runs against the stack too: bounded, then the failure is reported as shrunk so far.
        skipAllAfterTimeLimit: timeLimitMs,
      },
    );
    console.log(
      `MSC4429 model: membership answers (the rules' and the server's) over all runs: ${JSON.stringify(Object.fromEntries([...decisions].sort()))}`,
    );
  });
});
