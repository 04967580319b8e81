import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_V3, extraService, profilePath } from '../support/accounts.js';
import { type MatrixResponse, request, USERS as USERS_SECTION } from '../support/matrix-client.js';
import { freshDatabase, type OwnBroker, setUpFor, startOwnBroker } from '../support/own-infra.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { installProjectionTrace, matchTrace, type TracedWrite } from '../support/projection-trace.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Scale-out under failures, on a broker and database of this test's own: 2 writers, 3 projectors
 * and 2 sync APIs serve 6 clients that all at once write and delete profile fields, join and leave
 * rooms, try what the room rules forbid and sync, while a killer SIGKILLs a random writer,
 * projector or sync API at random moments (restarting it at once) and stops the broker once. The
 * choices come from one seed, printed (MX_CHAOS_SEED=<seed> replays them; the timing differs).
 *
 * No request is retried, and each answer is taken for what it says: 200 applied; a 4xx refused,
 * which must never take effect; a 503 or no answer unknown, which may or may not. Every answer
 * must agree with the room rules given what was possible at the time, and no sync may show a user
 * to a client that could not share a room with them while it ran. Afterwards, from a trace the
 * database keeps of every row the projectors wrote (test/support/projection-trace.ts): each
 * acknowledged write took effect exactly once, no refused one did, an unknown one at most once,
 * each key's in the order its client sent them; the projection equals a replay of the topics; and
 * every client's folded /sync view equals the final state.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FIELDS = ['m.tz', 'com.example.c'] as const;
const ZONES = ['UTC', 'Europe/Paris', 'Asia/Tokyo', 'America/Lima'];
const USERS = 6;
const ROOMS = 2;
/** User 5 is banned from room 1 before the traffic starts: every join of theirs there must be refused. */
const BANNED = { user: 5, room: 1 };
/** How long the killer runs; the clients stop with it. */
const CHAOS_MS = 16_000;
/**
 * Longer than the read-your-writes timeout (5 s) plus the ack timeout (2 s) set below: every
 * client waiting on a write when the broker stops is answered, and sends writes that meet the
 * stopped broker and are answered (503) before the outage ends.
 */
const BROKER_OUTAGE_MS = 8_000;

interface User {
  readonly userId: string;
  readonly token: string;
}
type Section = Record<string, { profile_updates: Record<string, unknown> | null }>;
type Membership = 'join' | 'leave' | 'ban';
type FieldEffect = { readonly is_set: boolean; readonly value: unknown };

/** What the model knows of one user's membership of one room. */
interface MemberModel {
  /** The memberships it may have now (more than one while an unknown outcome is unsettled). */
  states: Set<Membership>;
  /** An unknown outcome since the last acknowledged change: a refusal may predate it, so it narrows nothing. */
  unsettled: boolean;
  /** A late write (see TracedWrite): the key's state stays open until the end. */
  loose: boolean;
  /** When it may have been joined: [from, to], `to` Infinity while it still may be. */
  readonly joined: { from: number; to: number }[];
  /** Its client's writes to it, in order (the setup's included). */
  readonly writes: TracedWrite<Membership>[];
}

/** A seeded generator (mulberry32): an integer in [0, n). */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe('scale-out under failures', () => {
  const stack = inject('stack');
  const base = stack.portBase + PORT_OFFSETS.chaos.kafka;
  let broker: OwnBroker;
  const database = `matrix_test_chaos_${stack.portBase}`;
  const env: Record<string, string> = {
    ...stack.env,
    MX_KAFKA_BROKERS: `127.0.0.1:${base}`,
    MX_DATABASE_NAME: database,
    MX_TOPIC_PREFIX: 'mxchaos',
    MX_PROJECTOR_SESSION_TIMEOUT_MS: '6000',
    MX_READ_YOUR_WRITES_TIMEOUT_MS: '5000',
    MX_KAFKA_ACK_TIMEOUT_MS: '2000',
    MX_PROFILE_WRITE_RATE_LIMIT: '1000',
  };
  const writers: ServiceProcess[] = [];
  const projectors: ServiceProcess[] = [];
  const syncs: ServiceProcess[] = [];
  const all = () => [...writers, ...projectors, ...syncs];

  beforeAll(async () => {
    broker = await startOwnBroker('chaos', PORT_OFFSETS.chaos.kafka);
    await freshDatabase(database);
    await setUpFor(env);
    for (let index = 0; index < 2; index++)
      writers.push(extraService('writer', `chaos-writer-${index}`, PORT_OFFSETS.chaos.writers[index]!, env));
    for (let index = 0; index < 3; index++)
      projectors.push(extraService('projector', `chaos-projector-${index}`, PORT_OFFSETS.chaos.projectors[index]!, env));
    for (let index = 0; index < 2; index++)
      syncs.push(extraService('sync-api', `chaos-sync-${index}`, PORT_OFFSETS.chaos.syncApis[index]!, env));
    for (const service of all()) service.start();
    await Promise.all(all().map((service) => service.waitReady()));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(all().map((service) => service.stop()));
    await broker.stop();
  }, 60_000);

  it('takes effect exactly once for every acknowledged write and never for a refused one under concurrent traffic and random SIGKILLs, matches a replay, and every client’s view equals the truth', async () => {
    const seed = Number(process.env['MX_CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    console.log(
      `chaos seed ${seed} (MX_CHAOS_SEED=${seed} replays the kill schedule and every random stream; outcomes still depend on timing)`,
    );
    const start = Date.now();
    const now = () => Date.now() - start;
    const trace = await installProjectionTrace(database, 'mx_chaos_trace');
    const problems: string[] = [];
    const problem = (text: string) => void problems.push(`${now()} ms: ${text}`);
    let inFlight = 0;
    /** While the broker is down and until both writers are killed (see brokerOutage). */
    let outage = false;
    /** Once the broker has stopped, until the writers are killed. */
    let brokerDown = false;
    /** Writes sent and answered while the broker was down: they met the writers' broker-less path. */
    let answeredInOutage = 0;

    /** One attempt, never retried: the answer, or undefined when there was none (connection refused or reset). */
    const attempt = async (
      method: string,
      path: string,
      options: { token?: string; body?: unknown; baseUrl: string },
    ): Promise<MatrixResponse | undefined> => {
      inFlight++;
      const sentInOutage = brokerDown;
      try {
        const response = await request(method, path, options);
        if (sentInOutage && brokerDown && method !== 'GET') answeredInOutage++;
        return response;
      } catch {
        return undefined;
      } finally {
        inFlight--;
      }
    };
    type Outcome = TracedWrite<unknown>['outcome'];
    /** What an answer says; any status but 200, 503 and the one definite refusal `refusal` is a problem. */
    const classify = (response: MatrixResponse | undefined, what: string, refusal?: number): Outcome => {
      if (!response) return 'unknown';
      if (response.status === 200) return 'applied';
      // The broker did not acknowledge it: the writer's producer keeps it and may append it later, after the
      // client's next writes, unless the writer dies first (as both do during the broker outage, before it ends).
      if (response.status === 503) return /did not acknowledge/.test(String(response.body['error'])) && !outage ? 'late' : 'unknown';
      if (response.status === refusal) return 'refused';
      problem(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
      return 'unknown';
    };
    const writerUrl = (index: number) => writers[index % writers.length]!.url;
    const roomPath = (room: number, action: string) => `${CLIENT_V3}/rooms/${encodeURIComponent(rooms[room]!)}/${action}`;

    // The setup, before any failure: every answer must be 200.
    const setUp = async (method: string, path: string, options: { token?: string; body?: unknown; baseUrl: string }) => {
      const response = await attempt(method, path, options);
      expect(response?.status, `${method} ${path}: ${response?.status} ${JSON.stringify(response?.body)}`).toBe(200);
      return response!.body;
    };
    const users: User[] = [];
    for (let index = 0; index < USERS; index++) {
      const body = await setUp('POST', `${CLIENT_V3}/register`, {
        baseUrl: writerUrl(index),
        body: { username: `chaos${index}-${Date.now().toString(36)}`, password: 'pw', auth: { type: 'm.login.dummy' } },
      });
      users.push({ userId: body['user_id'] as string, token: body['access_token'] as string });
    }
    const rooms: string[] = [];
    for (let room = 0; room < ROOMS; room++) {
      const body = await setUp('POST', `${CLIENT_V3}/createRoom`, {
        baseUrl: writerUrl(room),
        token: users[0]!.token,
        body: { preset: 'public_chat' },
      });
      rooms.push(body['room_id'] as string);
    }
    // User 0 created both rooms (power level 100) and never leaves them.
    const members: MemberModel[][] = users.map((_, user) =>
      rooms.map((): MemberModel => ({
        states: new Set([user === 0 ? 'join' : 'leave']),
        unsettled: false,
        loose: false,
        joined: user === 0 ? [{ from: 0, to: Infinity }] : [],
        writes: user === 0 ? [{ effect: 'join', outcome: 'applied' }] : [],
      })),
    );
    await setUp('POST', roomPath(BANNED.room, 'ban'), {
      baseUrl: writerUrl(0),
      token: users[0]!.token,
      body: { user_id: users[BANNED.user]!.userId },
    });
    members[BANNED.user]![BANNED.room]!.states = new Set(['ban']);
    members[BANNED.user]![BANNED.room]!.writes.push({ effect: 'ban', outcome: 'applied' });
    for (let user = 1; user < USERS; user++) {
      await setUp('POST', roomPath(0, 'join'), { baseUrl: writerUrl(user), token: users[user]!.token, body: {} });
      const member = members[user]![0]!;
      member.states = new Set(['join']);
      member.joined.push({ from: 0, to: Infinity });
      member.writes.push({ effect: 'join', outcome: 'applied' });
    }
    const profileWrites = users.map(() => FIELDS.map((): TracedWrite<FieldEffect>[] => []));
    /** Whether each field is set, as far as the answers tell: `unsettled` after an unknown outcome. */
    const fieldStates = users.map(() => FIELDS.map((): 'set' | 'absent' | 'unsettled' => 'absent'));

    /** Whether `viewer` and `other` may have shared a joined room at some moment in [from, to]. */
    const couldShare = (viewer: number, other: number, from: number, to: number) =>
      members[viewer]!.some((member, room) =>
        member.joined.some((mine) =>
          members[other]![room]!.joined.some((theirs) => Math.max(mine.from, theirs.from, from) <= Math.min(mine.to, theirs.to, to)),
        ),
      );
    const views = users.map(() => new Map<string, Map<string, unknown>>());
    const tokens: (string | undefined)[] = users.map(() => undefined);
    const filter = encodeURIComponent(JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: FIELDS } }));
    /**
     * One /sync, folded into the client's view; a user with a profile in it must be one `mayShow`
     * allows between the request and its answer. Answers false when there was no answer.
     */
    const syncClient = async (
      index: number,
      via: number,
      timeout: number,
      mayShow: (other: number, from: number, to: number) => boolean,
    ) => {
      const since = tokens[index] ? `&since=${tokens[index]}` : '';
      const sentAt = now();
      const response = await attempt('GET', `${CLIENT_V3}/sync?timeout=${timeout}&filter=${filter}${since}`, {
        token: users[index]!.token,
        baseUrl: syncs[via % syncs.length]!.url,
      });
      const answeredAt = now();
      if (!response || response.status === 503) return false;
      if (response.status !== 200) {
        problem(`sync of ${index}: ${response.status} ${JSON.stringify(response.body)}`);
        return false;
      }
      tokens[index] = response.body['next_batch'] as string;
      for (const [userId, entry] of Object.entries((response.body[USERS_SECTION] ?? {}) as Section)) {
        const other = users.findIndex((candidate) => candidate.userId === userId);
        if (other < 0) {
          problem(`sync of ${index} names a user of no test: ${userId}`);
          continue;
        }
        if (entry.profile_updates !== null && other !== index && !mayShow(other, sentAt, answeredAt))
          problem(
            `leak: the profile of ${other} sent to ${index}, who could not share a room with them from ${sentAt} to ${answeredAt} ms`,
          );
        if (entry.profile_updates === null) {
          views[index]!.delete(userId);
          continue;
        }
        const view = views[index]!.get(userId) ?? new Map<string, unknown>();
        for (const [field, value] of Object.entries(entry.profile_updates)) {
          if (value === null) view.delete(field);
          else view.set(field, value);
        }
        views[index]!.set(userId, view);
      }
      return true;
    };
    for (let index = 0; index < USERS; index++)
      expect(await syncClient(index, index, 0, (other, from, to) => couldShare(index, other, from, to))).toBe(true);

    /** A set (`value` given) or delete of one field. */
    const writeField = async (user: number, field: number, value: unknown, via: number): Promise<Outcome> => {
      const name = FIELDS[field]!;
      // After a late write, whether the field is set stays open: the write may still land.
      const before = profileWrites[user]![field]!.some((write) => write.outcome === 'late') ? 'unsettled' : fieldStates[user]![field]!;
      const response = await attempt(value === undefined ? 'DELETE' : 'PUT', profilePath(users[user]!.userId, name), {
        baseUrl: writerUrl(via),
        token: users[user]!.token,
        ...(value === undefined ? {} : { body: { [name]: value } }),
      });
      const outcome = classify(response, `${value === undefined ? 'delete' : 'set'} ${name} of ${user}`);
      let traced = outcome;
      if (value !== undefined) fieldStates[user]![field] = outcome === 'applied' ? 'set' : 'unsettled';
      else if (outcome !== 'applied') fieldStates[user]![field] = 'unsettled';
      else if (before !== 'unsettled') {
        // The writer appends a delete only when the projection has the field set: one of a field
        // known absent changes nothing and must leave no trace.
        fieldStates[user]![field] = 'absent';
        if (before === 'absent') traced = 'refused';
      } else {
        // Unsettled, the projection may not have the field set yet (an unknown set may still be
        // unapplied): the delete may change nothing, and the earlier set may take effect after it.
        traced = 'unknown';
      }
      profileWrites[user]![field]!.push({
        effect: value === undefined ? { is_set: false, value: null } : { is_set: true, value },
        outcome: traced,
      });
      return outcome;
    };
    /**
     * A join or leave of the user's own, checked against the room rules (public rooms: a join is
     * refused only to a banned user, a leave only to one who is not joined) in every state the
     * user may be in; a refusal narrows them only when no unknown outcome is unsettled (the
     * writer refuses on the projection's state, which an unknown write may not have reached yet).
     */
    const changeMembership = async (user: number, room: number, join: boolean, via: number): Promise<Outcome> => {
      const member = members[user]![room]!;
      const effect: Membership = join ? 'join' : 'leave';
      const what = `${effect} of ${user} in room ${room}, possibly ${[...member.states].join(' or ')} before`;
      const canApply = join ? [...member.states].some((state) => state !== 'ban') : member.states.has('join');
      if (join && canApply && !member.joined.some((span) => span.to === Infinity)) member.joined.push({ from: now(), to: Infinity });
      const response = await attempt('POST', roomPath(room, effect), { baseUrl: writerUrl(via), token: users[user]!.token, body: {} });
      const outcome = classify(response, what, 403);
      if (outcome === 'applied') {
        if (!canApply) problem(`${what}: acknowledged, which the rules forbid in every state it could be in`);
        member.states = new Set([effect]);
        member.unsettled = false;
      } else if (outcome === 'refused') {
        const refusable = join ? member.states.has('ban') : !member.states.has('join') || member.states.size > 1;
        if (!refusable) problem(`${what}: refused, which the rules allow in every state it could be in`);
        else if (!member.unsettled && !member.loose)
          member.states = new Set([...member.states].filter((state) => (join ? state === 'ban' : state !== 'join')));
      } else {
        if (canApply) member.states.add(effect);
        member.unsettled = true;
        if (outcome === 'late') member.loose = true;
      }
      // A late write may still land: whatever it would make of the user stays possible.
      if (member.loose) for (const { effect: possible, outcome: was } of member.writes) if (was === 'late') member.states.add(possible);
      if (!member.states.has('join')) for (const span of member.joined) if (span.to === Infinity) span.to = now();
      // A write that can take effect in no state the user may be in must not: the trace holds it to that.
      member.writes.push({ effect, outcome: canApply || outcome === 'applied' ? outcome : 'refused' });
      return outcome;
    };
    /** What the rules always forbid: user 0 created the room (power level 100); nobody else may kick them. */
    const forbiddenKick = async (user: number, room: number, via: number): Promise<Outcome> => {
      const response = await attempt('POST', roomPath(room, 'kick'), {
        baseUrl: writerUrl(via),
        token: users[user]!.token,
        body: { user_id: users[0]!.userId },
      });
      const outcome = classify(response, `kick of user 0 by ${user} in room ${room}`, 403);
      if (outcome === 'applied') problem(`user ${user} kicked user 0 (power level 100) from room ${room}: acknowledged`);
      return outcome;
    };

    const counts: Record<string, number> = {};
    let chaosOver = false;
    /** One client: random operations, one at a time, until the killer is done. */
    const client = async (user: number) => {
      const random = seeded(seed + 7919 * (user + 1));
      let written = 0;
      while (!chaosOver && problems.length === 0) {
        const dice = random(100);
        const via = random(2);
        let kind: string;
        let outcome: Outcome | 'answered';
        if (dice < 35 || (user === 0 && dice < 60)) {
          const field = random(FIELDS.length);
          kind = 'set';
          outcome = await writeField(user, field, FIELDS[field] === 'm.tz' ? ZONES[random(ZONES.length)] : `${user}-${++written}`, via);
        } else if (dice < 45) {
          kind = 'delete';
          outcome = await writeField(user, random(FIELDS.length), undefined, via);
        } else if (dice < 65 && user !== 0) {
          const room = random(ROOMS);
          const states = members[user]![room]!.states;
          const join = !states.has('join') || (states.size > 1 && random(2) === 0);
          kind = join ? 'join' : 'leave';
          outcome = await changeMembership(user, room, join, via);
        } else if (dice < 70 && user !== 0) {
          kind = 'forbidden kick';
          outcome = await forbiddenKick(user, random(ROOMS), via);
        } else {
          kind = 'sync';
          const answered = await syncClient(user, via, random(2) * 500, (other, from, to) => couldShare(user, other, from, to));
          outcome = answered ? 'answered' : 'unknown';
        }
        counts[`${kind} ${outcome}`] = (counts[`${kind} ${outcome}`] ?? 0) + 1;
        // A refused connection fails at once: give the failure a moment to pass.
        if (outcome === 'unknown' || outcome === 'late') await sleep(200);
      }
    };

    // The killer's schedule, drawn before anything runs: a delay and a victim per kill, and when the broker stops.
    const random = seeded(seed);
    const victims = all();
    const schedule: { delay: number; victim: number }[] = [];
    for (let at = 0; at < CHAOS_MS;) {
      const delay = 500 + random(1500);
      at += delay;
      schedule.push({ delay, victim: random(victims.length) });
    }
    const outageAt = Math.floor(schedule.length * (0.25 + random(35) / 100));
    const kills: { at: number; name: string; inFlight: number }[] = [];
    const brokerOutage = async () => {
      outage = true;
      kills.push({ at: now(), name: 'broker (stop)', inFlight });
      await broker.stop();
      brokerDown = true;
      await sleep(BROKER_OUTAGE_MS);
      // No writer outlives the outage: one that answered 503 keeps the write in its producer and could append it
      // after the client's later writes. Killed while the broker is down, it appends nothing more.
      brokerDown = false;
      for (const writer of writers) {
        kills.push({ at: now(), name: writer.name, inFlight });
        await writer.kill();
      }
      outage = false;
      await broker.start();
      for (const writer of writers) writer.start();
    };
    const killer = async () => {
      for (const [index, { delay, victim }] of schedule.entries()) {
        await sleep(delay);
        if (problems.length > 0) return;
        if (index === outageAt) {
          await brokerOutage();
          continue;
        }
        const service = victims[victim]!;
        kills.push({ at: now(), name: service.name, inFlight });
        await service.kill();
        service.start();
      }
    };
    const clients = users.map((_, user) => client(user));
    await killer();
    chaosOver = true;
    await Promise.all(clients);
    const summary = () =>
      `chaos seed ${seed}: ${kills.length} kills (${kills.filter((kill) => kill.inFlight > 0).length} with requests in flight): ` +
      `${kills.map((kill) => `${kill.name} at ${kill.at} ms (${kill.inFlight} in flight)`).join(', ')}; ` +
      `${answeredInOutage} writes answered while the broker was down; operations: ${JSON.stringify(counts)}`;
    console.log(summary());
    expect(problems, summary()).toEqual([]);

    // A writer restart ends any late write for good; then one acknowledged write per user (profile
    // topic, keyed by user) and per room (membership topic, keyed by room) settles every partition
    // the traffic used: it is applied only after everything before it in its partition. Retried
    // only while its outcome is unknown.
    for (const writer of writers) await writer.kill();
    for (const writer of writers) writer.start();
    // A projector started while the broker was down gives up connecting and exits 1 (kafkajs stops
    // retrying): as an orchestrator would, start such a process again (twice at most).
    const startedAgain: string[] = [];
    await Promise.all(
      all().map(async (service) => {
        for (let attempt = 0; ; attempt++) {
          try {
            await service.waitReady();
            return;
          } catch (error) {
            if (attempt >= 2 || !/ exited with /.test(String(error))) throw error;
            startedAgain.push(service.name);
            service.start();
          }
        }
      }),
    );
    if (startedAgain.length > 0) console.log(`chaos: started again after exiting on their own: ${startedAgain.join(', ')}`);
    const settle = async (what: string, call: () => Promise<MatrixResponse | undefined>) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const response = await call();
        if (response?.status === 200) return;
        if (response && response.status !== 503) throw new Error(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
        if (Date.now() > deadline) throw new Error(`${what}: no 200 within 60 s`);
        await sleep(500);
      }
    };
    await Promise.all([
      ...users.map((user, index) =>
        settle(`settling the profile partition of ${index}`, () =>
          attempt('PUT', profilePath(user.userId, 'com.example.settled'), {
            baseUrl: writerUrl(index),
            token: user.token,
            body: { 'com.example.settled': true },
          }),
        ),
      ),
      ...rooms.map((_, room) =>
        settle(`settling room ${room}`, () =>
          attempt('POST', roomPath(room, 'join'), { baseUrl: writerUrl(room), token: users[0]!.token, body: {} }),
        ),
      ),
    ]);

    // Each key's trace against its client's writes: every acknowledged write exactly once, no refused one,
    // an unknown one at most once, in the order sent. The last row of each is the truth.
    const profileRows = await trace.profileRows();
    const membershipRows = await trace.membershipRows();
    const profiles = users.map(() => new Map<string, unknown>());
    for (const [user, { userId }] of users.entries()) {
      for (const [field, name] of FIELDS.entries()) {
        const effects = profileRows
          .filter((row) => row.user_id === userId && row.field === name)
          .map(({ is_set, value }): FieldEffect => ({ is_set, value }));
        const mismatch = matchTrace(
          profileWrites[user]![field]!,
          effects,
          (a, b) => a.is_set === b.is_set && JSON.stringify(a.value) === JSON.stringify(b.value),
        );
        const shown = (effect: FieldEffect) => (effect.is_set ? JSON.stringify(effect.value) : 'deleted');
        if (mismatch)
          problem(
            `${name} of ${user}: ${mismatch}; sent ${profileWrites[user]![field]!.map((write) => `${shown(write.effect)} ${write.outcome}`).join(', ')}; ` +
              `traced ${effects.map(shown).join(', ')}`,
          );
        const last = effects.at(-1);
        if (last?.is_set) profiles[user]!.set(name, last.value);
      }
      const read = await attempt('GET', profilePath(userId), { baseUrl: writerUrl(user) });
      const stored = Object.fromEntries(Object.entries(read?.body ?? {}).filter(([name]) => (FIELDS as readonly string[]).includes(name)));
      expect(stored, `the profile of ${user}`).toEqual(Object.fromEntries(profiles[user]!));
    }
    const finalMembership = users.map(() => rooms.map((): Membership => 'leave'));
    for (const [user, { userId }] of users.entries()) {
      for (const [room, roomId] of rooms.entries()) {
        const member = members[user]![room]!;
        const rows = membershipRows
          .filter((row) => row.user_id === userId && row.room_id === roomId)
          .map((row) => row.membership as Membership);
        if (user === 0) {
          if (rows.some((row) => row !== 'join')) problem(`user 0 in room ${room}: ${rows.join(', ')} (a forbidden kick took effect)`);
        } else {
          // In log order, each change the rules allow: no join after a ban, no leave but after a join.
          const invalid = rows.findIndex((row, at) =>
            row === 'join' ? rows[at - 1] === 'ban' : row === 'leave' && rows[at - 1] !== 'join',
          );
          if (invalid >= 0) problem(`membership of ${user} in room ${room}: ${rows.join(', ')}: change ${invalid} breaks the room rules`);
          const mismatch = matchTrace(member.writes, rows, (a, b) => a === b);
          if (mismatch)
            problem(
              `membership of ${user} in room ${room}: ${mismatch}; sent ${member.writes.map((write) => `${write.effect} ${write.outcome}`).join(', ')}; ` +
                `traced ${rows.join(', ')}`,
            );
        }
        const last = rows.at(-1) ?? 'leave';
        if (!member.states.has(last)) problem(`membership of ${user} in room ${room} ends ${last}, not ${[...member.states].join(' or ')}`);
        const read = await attempt('GET', roomPath(room, `state/m.room.member/${encodeURIComponent(userId)}`), {
          baseUrl: writerUrl(room),
          token: users[0]!.token,
        });
        expect(read?.status === 404 ? 'leave' : read?.body['membership'], `the membership of ${user} in room ${room}`).toBe(last);
        finalMembership[user]![room] = last;
      }
    }
    expect(problems, summary()).toEqual([]);

    // Every client's folded view reaches the truth, and from now on shows exactly who shares a room with it.
    const visibleTo = (viewer: number): Set<number> => {
      const visible = new Set([viewer]);
      for (const [room] of rooms.entries()) {
        if (finalMembership[viewer]![room] !== 'join') continue;
        for (const [other] of users.entries()) if (finalMembership[other]![room] === 'join') visible.add(other);
      }
      return visible;
    };
    const matchesTruth = (index: number): boolean => {
      const expected = new Map<string, Map<string, unknown>>();
      for (const other of visibleTo(index)) if (profiles[other]!.size > 0) expected.set(users[other]!.userId, profiles[other]!);
      const seen = new Map([...views[index]!].filter(([, view]) => view.size > 0));
      return (
        JSON.stringify([...seen].map(([user, view]) => [user, [...view].sort()]).sort()) ===
        JSON.stringify([...expected].map(([user, view]) => [user, [...view].sort()]).sort())
      );
    };
    for (let index = 0; index < users.length; index++) {
      const mayShow = (other: number) => visibleTo(index).has(other);
      for (let attempt = 0; attempt < 20 && !((await syncClient(index, index, 0, mayShow)) && matchesTruth(index)); attempt++)
        await sleep(250);
      expect(matchesTruth(index), `client ${index}`).toBe(true);
    }
    expect(problems, summary()).toEqual([]);
    // The run did what it claims: kills landed while requests were in flight, and traffic got through.
    expect(kills.filter((kill) => kill.inFlight > 0).length, summary()).toBeGreaterThanOrEqual(kills.length / 2);
    expect(counts['set applied'] ?? 0, summary()).toBeGreaterThan(20);
    expect(answeredInOutage, summary()).toBeGreaterThan(0);

    // The projection equals a replay of the topics.
    const { stdout } = await run(process.execPath, ['dist/apps/projector/src/replay/main.js', 'verify'], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: 90_000,
    });
    expect(stdout).toContain('matches a replay');
  }, 240_000);
});
