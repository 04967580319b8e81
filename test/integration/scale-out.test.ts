import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { profileFilter, registerUser, request, type TestUser } from '../support/matrix-client.js';
import { createRoomOk, joinRoomById } from '../support/rooms.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Several processes of each service against the one broker and database: a second writer, a
 * second projector in the same consumer group and a second sync API, next to the stack's own.
 */
const USERS = 'org.matrix.msc4429.users';

describe('scale-out', () => {
  const writerB = extraService('writer', 'writer-scale-b', 141);
  const projectorB = extraService('projector', 'projector-scale-b', 142);
  const syncB = extraService('sync-api', 'sync-api-scale-b', 143);
  const extras: ServiceProcess[] = [writerB, projectorB, syncB];

  beforeAll(async () => {
    for (const service of extras) service.start();
    await Promise.all(extras.map((service) => service.waitReady()));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(extras.map((service) => service.stop()));
  }, 30_000);

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
    const users = await Promise.all(Array.from({ length: 8 }, () => registerUser('load')));
    const writes = (round: number) =>
      Promise.all(
        users.map((user, index) =>
          request('PUT', profilePath(user.userId, 'com.example.counter'), {
            token: user.accessToken,
            body: { 'com.example.counter': round },
            ...(index % 2 === 0 ? { baseUrl: writerB.url } : {}),
          }),
        ),
      );
    for (const response of await writes(1)) expectStatus(response, 200);
    // The second projector leaves the group (SIGTERM) while writes go on: the other takes over.
    const [stopped, during] = await Promise.all([projectorB.stop(), writes(2)]);
    expect(stopped).toBe(0);
    for (const response of during) expect([200, 503]).toContain(response.status);
    for (const response of await writes(3)) expectStatus(response, 200);
    for (const user of users) {
      const response = await request('GET', profilePath(user.userId, 'com.example.counter'));
      expect(response.body).toEqual({ 'com.example.counter': 3 });
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
