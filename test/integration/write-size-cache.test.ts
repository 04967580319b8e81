import { describe, expect, inject, it } from 'vitest';
import { CLIENT_V3, expectMatrixError, expectStatus, extraService, runDuringFile } from '../support/accounts.js';
import { registerUser, request, type TestUser } from '../support/matrix-client.js';
import { psql } from '../support/own-infra.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Issue 16: a profile write costs the writer no database query in the steady state. Each writer
 * replica keeps its users' profile sizes and field sets in memory (filled on first read, updated
 * by its own writes, forgotten as the projector announces other writers' changes); the projector's
 * size check stays authoritative, so a write that a stale view let through is still refused, and
 * a stale view never refuses a write the projection would take.
 *
 * Two writers of the test's own (nothing else sends them requests), next to the stack's processes.
 * The stack's limit is 64 KiB (global-setup.ts).
 */
describe("the writer's profile size cache", () => {
  const stack = inject('stack');
  const database = stack.env['MX_DATABASE_NAME'];
  const writerB = extraService('writer', 'writer-size-cache-b', PORT_OFFSETS.writeSizeCache.writerB);
  const writerC = extraService('writer', 'writer-size-cache-c', PORT_OFFSETS.writeSizeCache.writerC);
  runDuringFile(writerB, writerC);

  async function counter(service: ServiceProcess, name: string, result?: string): Promise<number> {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (result !== undefined && !line.includes(`result="${result}"`)) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  }

  async function readings(service: ServiceProcess): Promise<{ hit: number; miss: number; recheck: number; queries: number }> {
    return {
      hit: await counter(service, 'mx_writer_profile_cache_total', 'hit'),
      miss: await counter(service, 'mx_writer_profile_cache_total', 'miss'),
      recheck: await counter(service, 'mx_writer_profile_cache_total', 'recheck'),
      queries: await counter(service, 'mx_db_queries_total'),
    };
  }

  const path = (user: TestUser, field: string) => `${CLIENT_V3}/profile/${encodeURIComponent(user.userId)}/${encodeURIComponent(field)}`;
  const put = (writer: ServiceProcess, user: TestUser, field: string, value: unknown) =>
    request('PUT', path(user, field), { token: user.accessToken, body: { [field]: value }, baseUrl: writer.url });
  const remove = (writer: ServiceProcess, user: TestUser, field: string) =>
    request('DELETE', path(user, field), { token: user.accessToken, baseUrl: writer.url });
  const profileOf = async (user: TestUser) => {
    const response = await request('GET', `${CLIENT_V3}/profile/${encodeURIComponent(user.userId)}`, {
      baseUrl: stack.writerUrl,
    });
    expectStatus(response, 200);
    return response.body;
  };
  const sqlText = (text: string) => `'${text.replaceAll("'", "''")}'`;

  /**
   * The file runs next to others whose writes may share a projector batch with ours: such a batch
   * makes the writer forget the user (another writer's record may have changed it). Tries a few
   * times; once is enough to show the path.
   */
  async function untilHit<T>(attempt: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 8; i += 1) {
      const result = await attempt();
      if (result !== undefined) return result;
    }
    throw new Error('the writer never answered from its cache');
  }

  it('answers a second write of a user without a single database query', async () => {
    const alice = await registerUser('sizecache');
    expectStatus(await put(writerB, alice, 'm.tz', 'Europe/Paris'), 200);
    expect((await readings(writerB)).miss).toBeGreaterThanOrEqual(1);
    const costs = await untilHit(async () => {
      const before = await readings(writerB);
      expectStatus(await put(writerB, alice, 'm.tz', 'Europe/Berlin'), 200);
      const after = await readings(writerB);
      const cost = { hit: after.hit - before.hit, miss: after.miss - before.miss, queries: after.queries - before.queries };
      return cost.hit === 1 ? cost : undefined;
    });
    expect(costs).toEqual({ hit: 1, miss: 0, queries: 0 });
    expect(await profileOf(alice)).toEqual({ 'm.tz': 'Europe/Berlin' });
  });

  it("forgets a user another writer changed, and sees that writer's change", async () => {
    const bob = await registerUser('sizecache');
    expectStatus(await put(writerB, bob, 'com.example.a', 'x'.repeat(40_000)), 200);
    // Writer C makes the profile 60 KB; B hears of it from the projector's announcement.
    expectStatus(await put(writerC, bob, 'com.example.b', 'y'.repeat(20_000)), 200);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // B's listener hears the announcement
    const before = await readings(writerB);
    // 40 + 20 + 10 KB: B must refuse promptly, and it may only do so after reading the projection.
    expectMatrixError(await put(writerB, bob, 'com.example.c', 'z'.repeat(10_000)), 400, 'M_PROFILE_TOO_LARGE');
    const after = await readings(writerB);
    expect(after.hit - before.hit).toBe(0);
    expect(after.miss + after.recheck - before.miss - before.recheck).toBe(1);
    expect(Object.keys(await profileOf(bob)).sort()).toEqual(['com.example.a', 'com.example.b']);
  });

  it("the projector's size check refuses a write that a stale cache let through", async () => {
    await untilHit(async () => {
      const carol = await registerUser('sizecache');
      expectStatus(await put(writerB, carol, 'com.example.a', 'x'.repeat(30_000)), 200);
      // Behind every writer's back (no announcement): writer B's cached view of the profile is now stale.
      await psql(
        `INSERT INTO profile_fields (user_id, field, value, is_set, log_partition, log_offset, updated_ts)
         VALUES (${sqlText(carol.userId)}, 'com.example.hidden', to_jsonb(repeat('h', 30000)), true, 0, 0, 0)`,
        database,
      );
      try {
        const before = await readings(writerB);
        // B's view: 30 + 20 KB fits. The projection's: 30 + 30 + 20 KB does not. Either way: refused.
        expectMatrixError(await put(writerB, carol, 'com.example.b', 'y'.repeat(20_000)), 400, 'M_PROFILE_TOO_LARGE');
        const after = await readings(writerB);
        expect(Object.keys(await profileOf(carol)).sort()).toEqual(['com.example.a', 'com.example.hidden']);
        if (after.hit - before.hit !== 1) return undefined; // B had forgotten carol: it read the projection
        // The prompt check passed on the stale view; the projector refused. B forgot its view: the next write reads the projection.
        expectMatrixError(await put(writerB, carol, 'com.example.b', 'y'.repeat(20_000)), 400, 'M_PROFILE_TOO_LARGE');
        expect((await readings(writerB)).miss - after.miss).toBe(1);
        return true;
      } finally {
        await psql(`DELETE FROM profile_fields WHERE user_id = ${sqlText(carol.userId)} AND field = 'com.example.hidden'`, database);
      }
    });
  });

  it('of two writers racing with views that each let their write through, the projector takes exactly one', async () => {
    const dave = await registerUser('sizecache');
    expectStatus(await put(writerB, dave, 'com.example.a', 'x'.repeat(20_000)), 200);
    // C reads the profile without writing (nothing to delete), so both views are warm.
    expectStatus(await remove(writerC, dave, 'com.example.none'), 200);
    const before = await Promise.all([readings(writerB), readings(writerC)]);
    // Each fits alone (20 + 30 KB), not both (80 KB).
    const responses = await Promise.all([
      put(writerB, dave, 'com.example.b', 'y'.repeat(30_000)),
      put(writerC, dave, 'com.example.c', 'z'.repeat(30_000)),
    ]);
    const after = await Promise.all([readings(writerB), readings(writerC)]);
    // Neither view refused (answered from memory, or read before either write was applied).
    expect(after.map((reading, index) => reading.recheck - before[index]!.recheck)).toEqual([0, 0]);
    expect(responses.map((response) => response.status).sort()).toEqual([200, 400]);
    const refused = responses.find((response) => response.status === 400)!;
    expectMatrixError(refused, 400, 'M_PROFILE_TOO_LARGE');
    const fields = Object.keys(await profileOf(dave)).sort();
    expect(fields).toEqual(responses[0].status === 200 ? ['com.example.a', 'com.example.b'] : ['com.example.a', 'com.example.c']);
  });

  it('a stale view never refuses a write the projection takes, nor skips a deletion', async () => {
    const erin = await registerUser('sizecache');
    expectStatus(await put(writerB, erin, 'com.example.a', 'x'.repeat(40_000)), 200);
    expectStatus(await put(writerB, erin, 'com.example.b', 'small'), 200);
    // Behind every writer's back: com.example.a removed. B's view may still hold it.
    await psql(
      `UPDATE profile_fields SET is_set = false, value = NULL WHERE user_id = ${sqlText(erin.userId)} AND field = 'com.example.a'`,
      database,
    );
    let before = await readings(writerB);
    // B's view: 40 + 30 KB is too large; the projection (no 40 KB field) takes it.
    expectStatus(await put(writerB, erin, 'com.example.c', 'z'.repeat(30_000)), 200);
    let after = await readings(writerB);
    expect(after.recheck + after.miss - before.recheck - before.miss, 'the projection was asked').toBe(1);

    // Behind every writer's back: com.example.hidden set. B's view lacks it.
    await psql(
      `INSERT INTO profile_fields (user_id, field, value, is_set, log_partition, log_offset, updated_ts)
       VALUES (${sqlText(erin.userId)}, 'com.example.hidden', '"h"', true, 0, 0, 0)`,
      database,
    );
    before = after;
    expectStatus(await remove(writerB, erin, 'com.example.hidden'), 200);
    after = await readings(writerB);
    expect(after.recheck + after.miss - before.recheck - before.miss, 'the projection was asked').toBe(1);
    expect(Object.keys(await profileOf(erin)).sort()).toEqual(['com.example.b', 'com.example.c']);
  });
});
