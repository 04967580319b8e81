import { describe, expect, inject, it } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath, runDuringFile } from '../support/accounts.js';
import { profileFilter, registerUser, request, type TestUser, USERS } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { installProjectionTrace, matchTrace, type TracedWrite } from '../support/projection-trace.js';
import { createRoomOk, joinRoomById } from '../support/rooms.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Several processes of each service against the one broker and database: a second writer, a
 * second projector in the same consumer group and a second sync API, next to the stack's own.
 */
describe('scale-out', () => {
  const writerB = extraService('writer', 'writer-scale-b', PORT_OFFSETS.scaleOut.writerB);
  const projectorB = extraService('projector', 'projector-scale-b', PORT_OFFSETS.scaleOut.projectorB);
  const syncB = extraService('sync-api', 'sync-api-scale-b', PORT_OFFSETS.scaleOut.syncApiB);
  runDuringFile(writerB, projectorB, syncB);

  /** The profile events a projector process applied since it started (its own counter). */
  async function appliedProfileEvents(projector: ServiceProcess): Promise<number> {
    const metrics = await (await fetch(`${projector.url}/metrics`)).text();
    return metrics
      .split('\n')
      .filter((line) => line.startsWith('mx_projector_events_applied_total{') && line.includes('profile'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  async function syncBody(
    user: TestUser,
    baseUrl: string | undefined,
    query: string,
  ): Promise<Record<string, unknown> & { next_batch: string }> {
    const response = await request<Record<string, unknown> & { next_batch: string }>('GET', `${CLIENT_V3}/sync?${query}`, {
      token: user.accessToken,
      ...(baseUrl ? { baseUrl } : {}),
    });
    expectStatus(response, 200);
    return response.body;
  }

  it('wakes a long-poll parked on one sync API replica for a write through the other writer, and tokens work on every replica', async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    expectStatus(await joinRoomById(bob, roomId), 200);
    const filter = profileFilter('m.tz');
    const token = (await syncBody(alice, undefined, `filter=${filter}`)).next_batch;
    // Parked on replica B, longer than the test may run: only a wake-up answers it in time.
    const parked = syncBody(alice, syncB.url, `filter=${filter}&since=${token}&timeout=120000`);
    expectStatus(
      await request('PUT', profilePath(bob.userId, 'm.tz'), {
        token: bob.accessToken,
        body: { 'm.tz': 'Asia/Tokyo' },
        baseUrl: writerB.url,
      }),
      200,
    );
    const woken = await parked;
    expect(woken[USERS]).toEqual({ [bob.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
    // B's token on the stack's own replica: nothing new since.
    const idle = await syncBody(alice, undefined, `filter=${filter}&since=${woken.next_batch}&timeout=0`);
    expect(idle).not.toHaveProperty(USERS);
  });

  it('applies every write exactly once while two projectors share the partitions, and one of them leaves', async () => {
    // A write applied twice leaves the same last value, so the database itself traces every
    // profile_fields row the projectors write for this test's users (see projection-trace.ts):
    // each write below is the only one of its batch for its key, so each time it takes effect it
    // leaves one row. When projector B leaves, the stack's projector takes its partitions over
    // from where it last knew them, before B joined, and reads again what B applied meanwhile:
    // only the projection's position check keeps that from taking effect a second time. (The
    // projector keeps only the last change per user and field of a batch, so a write read again
    // together with a newer one of the same user leaves no trace: the `quiet` users write nothing
    // while B leaves, the `busy` ones write on.)
    const prefix = `once${Date.now().toString(36)}`;
    const trace = await installProjectionTrace(inject('stack').env['MX_DATABASE_NAME']!, `mx_trace_${prefix}`, `@${prefix}-`);
    try {
      const field = 'com.example.counter';
      // 12 quiet users, enough that some land on the partitions B takes (all miss them 1 time in 4096), then 4 busy ones.
      const users = await Promise.all(Array.from({ length: 16 }, () => registerUser(prefix)));
      const busy = users.slice(12);
      type Effect = { readonly is_set: boolean; readonly value: unknown };
      const sent = users.map((): TracedWrite<Effect>[] => []);
      /** Round `round` sets the field to `round` (or deletes it) for these users at once; all answers are kept. */
      const round = (round: number, kind: 'set' | 'delete', who = users) =>
        Promise.all(
          who.map(async (user) => {
            const index = users.indexOf(user);
            const response = await request(kind === 'set' ? 'PUT' : 'DELETE', profilePath(user.userId, field), {
              token: user.accessToken,
              ...(kind === 'set' ? { body: { [field]: round } } : {}),
              ...(index % 2 === 0 ? { baseUrl: writerB.url } : {}),
            });
            expect([200, 503], `${kind} ${round}: ${response.status} ${JSON.stringify(response.body)}`).toContain(response.status);
            sent[index]!.push({
              effect: kind === 'set' ? { is_set: true, value: round } : { is_set: false, value: null },
              outcome: response.status === 200 ? 'applied' : 'unknown',
            });
            return response.status;
          }),
        );
      // Interleaved sets and deletes, so that every write leaves a row distinct from its neighbours'.
      // B leaves first, so that the stack's projector applies round 1 on every partition and knows
      // where each one stands; B then joins again and applies rounds 2 and 3 on half of them.
      expect(await projectorB.stop()).toBe(0);
      await round(1, 'set');
      projectorB.start();
      await projectorB.waitReady();
      for (const status of [...(await round(2, 'delete')), ...(await round(3, 'set'))]) expect(status).toBe(200);
      expect(await appliedProfileEvents(projectorB), 'projector B applied part of rounds 2 and 3').toBeGreaterThan(0);
      // B leaves (SIGTERM) while the busy users write on: the stack's projector takes B's
      // partitions over from where it last knew them (round 1) and reads rounds 2 and 3 there again.
      const [stopped] = await Promise.all([projectorB.stop(), round(4, 'set', busy).then(() => round(5, 'delete', busy))]);
      expect(stopped).toBe(0);
      for (const status of [...(await round(6, 'set')), ...(await round(7, 'set'))]) expect(status).toBe(200);

      const rows = await trace.profileRows();
      for (const [index, user] of users.entries()) {
        const mine = rows.filter((row) => row.user_id === user.userId && row.field === field);
        const effects = mine.map(({ is_set, value }): Effect => ({ is_set, value }));
        const same = (a: Effect, b: Effect) => a.is_set === b.is_set && JSON.stringify(a.value) === JSON.stringify(b.value);
        expect(matchTrace(sent[index]!, effects, same), `user ${index}: trace ${JSON.stringify(effects)}`).toBeUndefined();
        // Every row is a later position than the one before, and the last one is what clients read.
        const offsets = mine.map((row) => row.log_offset);
        expect(offsets).toEqual([...new Set(offsets)].sort((a, b) => a - b));
        const response = await request('GET', profilePath(user.userId, field));
        expect(response.body).toEqual({ [field]: 7 });
      }
    } finally {
      await trace.remove();
    }
    projectorB.start();
    await projectorB.waitReady();
  }, 60_000);

  it('answers a parked long-poll with a usable token when its replica shuts down', async () => {
    const alice = await registerUser('alice');
    const filter = profileFilter('m.tz');
    const token = (await syncBody(alice, syncB.url, `filter=${filter}`)).next_batch;
    const parked = syncBody(alice, syncB.url, `filter=${filter}&since=${token}&timeout=120000`);
    // Let the request reach the replica before it is told to stop.
    await request('GET', `${CLIENT_V3}/sync?filter=${filter}&since=${token}&timeout=0`, { token: alice.accessToken, baseUrl: syncB.url });
    const [answered, code] = await Promise.all([parked, syncB.stop(25_000)]);
    expect(code).toBe(0);
    expect(answered.next_batch).toMatch(/^m1_/);
    const next = await syncBody(alice, undefined, `filter=${filter}&since=${answered.next_batch}&timeout=0`);
    expect(next.next_batch).toMatch(/^m1_/);
    syncB.start();
    await syncB.waitReady();
  }, 60_000);
});
