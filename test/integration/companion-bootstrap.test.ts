import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { extraService } from '../support/accounts.js';
import { type HomeserverUser, expectOk, registerOnHomeserver, shareAPublicRoom } from '../support/homeserver-users.js';
import { request } from '../support/matrix-client.js';
import { until } from '../support/observe.js';
import { freshDatabase, psql, setUpFor } from '../support/own-infra.js';
import { companionEnv } from '../support/companion-stack.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';

/**
 * Companion mode, what existed before installation (issue 14, parts 4 and 5's verify): a Synapse
 * 1.163.2 of the test's own holds rooms, memberships and profiles (custom fields included) made
 * while nothing listened at its appservice URL (the writer starts later), so only the bootstrap
 * (`node dist/apps/ops/src/main.js companion-bootstrap`, the real CLI) can bring them into the
 * projection of the test's own projector. Then: an interrupted run resumes, a re-run changes
 * nothing, a snapshot read before a leave and appended after the feed delivered the leave does not
 * undo it, nor a profile write through the project; `companion-verify` finds a custom field changed
 * straight at Synapse and `--repair` makes the projection equal again. Checked through SQL.
 */
const PORTS = PORT_OFFSETS.companionBootstrap;
const root = join(import.meta.dirname, '..', '..');

interface CliOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('companion mode: bootstrap of what existed before installation, and verify', () => {
  const stack = inject('stack');
  const database = `matrix_test_companion_boot_${stack.portBase}`;
  let synapse: OwnSynapse | undefined;
  let writer: ServiceProcess | undefined;
  let projector: ServiceProcess | undefined;
  let env: Record<string, string>;
  const hs = (): OwnSynapse => synapse!;
  const scratch = mkdtempSync(join(tmpdir(), 'mx-companion-bootstrap-'));
  /** Left by the first test for the later ones. */
  let alice: HomeserverUser;
  let bob: HomeserverUser;
  let carol: HomeserverUser;
  let firstRoom: string;

  const sql = async (text: string): Promise<string[][]> =>
    (await psql(text, database)).stdout
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('|'));
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const membership = async (roomId: string, userId: string) =>
    (await sql(`SELECT membership, event_id FROM memberships WHERE room_id = ${quote(roomId)} AND user_id = ${quote(userId)}`))[0];
  const field = async (userId: string, name: string) =>
    (await sql(`SELECT value::text FROM profile_fields WHERE user_id = ${quote(userId)} AND field = ${quote(name)} AND is_set`))[0]?.[0];
  const projectionRows = async () => ({
    memberships: await sql('SELECT room_id, user_id, membership, event_id, log_partition, log_offset FROM memberships ORDER BY 1, 2'),
    profileFields: await sql(
      'SELECT user_id, field, value::text, is_set, log_partition, log_offset, updated_ts FROM profile_fields ORDER BY 1, 2',
    ),
  });
  /** How many records the projector consumed, over both topics (nothing else appends while the writer is not running). */
  const consumed = async () => Number((await sql('SELECT coalesce(sum(next_offset), 0) FROM projection_positions'))[0]?.[0] ?? 0);
  const checkpointed = async () => Number((await sql('SELECT count(*) FROM companion_bootstrap_progress'))[0]?.[0]);

  /** The operator CLI as a real process; resolves with its exit code and output, whatever the code. */
  const ops = (args: readonly string[], extraEnv: Record<string, string> = {}): Promise<CliOutcome> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ['dist/apps/ops/src/main.js', ...args],
        { cwd: root, env: { ...process.env, ...env, ...extraEnv }, timeout: 120_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
    });
  /** The last `events appended N` of a run's output (its summary; progress lines come before it). */
  const eventsAppended = (text: string) => Number([...text.matchAll(/events appended (\d+)/g)].at(-1)?.[1]);
  const shown = (outcome: CliOutcome) => `exit ${outcome.code}\nstdout: ${outcome.stdout}\nstderr: ${outcome.stderr}`;

  const putAtSynapse = async (user: HomeserverUser, key: string, value: unknown) =>
    expectOk(
      await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(user.user_id)}/${encodeURIComponent(key)}`, {
        baseUrl: hs().baseUrl,
        token: user.access_token,
        body: { [key]: value },
      }),
      `PUT ${key} at Synapse`,
    );

  beforeAll(async () => {
    // Synapse sends its transactions to the writer's port, where nothing listens until the race test starts the writer.
    synapse = await startOwnSynapse({
      name: 'companion_boot',
      portOffset: PORTS.synapse,
      appserviceUrl: `http://127.0.0.1:${stack.portBase + PORTS.writer}`,
    });
    env = companionEnv(synapse, 'companion_boot', { MX_UPSTREAM_ADMIN_TOKEN: synapse.admin.accessToken }).env;
    await freshDatabase(database);
    await setUpFor(env);
    projector = extraService('projector', 'projector-companion-boot', PORTS.projector, env);
    writer = extraService('writer', 'writer-companion-boot', PORTS.writer, env);
    projector.start();
    await projector.waitReady();
  }, SYNAPSE_START_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([writer?.stop(), projector?.stop()]);
    await synapse?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('appends rooms, memberships and profiles (custom fields too) made before installation; an interrupted run resumes; a re-run changes nothing', async () => {
    alice = await registerOnHomeserver(hs().baseUrl, 'alice');
    bob = await registerOnHomeserver(hs().baseUrl, 'bob');
    carol = await registerOnHomeserver(hs().baseUrl, 'carol');
    await putAtSynapse(alice, 'displayname', 'Alice Before');
    await putAtSynapse(alice, 'm.status', { text: 'on a boat', emoji: '⛵' });
    await putAtSynapse(carol, 'com.example.pronouns', 'they/them');
    await putAtSynapse(carol, 'm.tz', 'Europe/Paris');
    firstRoom = await shareAPublicRoom(hs().baseUrl, alice, bob);
    const { room_id: privateRoom } = expectOk(
      await request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', {
        baseUrl: hs().baseUrl,
        token: alice.access_token,
        body: { preset: 'private_chat', invite: [carol.user_id] },
      }),
      'createRoom with an invite',
    );
    // Nothing reached the project: no feed is running.
    expect(await membership(firstRoom, alice.user_id)).toBeUndefined();

    // Wrong input first: an unknown flag (64), a refused admin token (77), a standalone configuration (78).
    const unknown = await ops(['companion-bootstrap', '--nope']);
    expect([unknown.code, unknown.stderr], shown(unknown)).toEqual([64, expect.stringContaining('unknown flag --nope')]);
    const refused = await ops(['companion-bootstrap', '--admin-token', 'syt_not_an_admin_token']);
    expect(refused.code, shown(refused)).toBe(77);
    expect(refused.stderr).toMatch(/GET \/_synapse\/admin\/v1\/rooms: 401 M_UNKNOWN_TOKEN/);
    const standalone = await ops(['companion-bootstrap'], { MX_MODE: 'standalone' });
    expect([standalone.code, standalone.stderr], shown(standalone)).toEqual([78, expect.stringContaining('companion mode only')]);
    expect(await checkpointed()).toBe(0);

    // Interrupted after the two rooms (exit 75): their memberships are in, no user's profile yet.
    const interrupted = await ops(['companion-bootstrap', '--max-items', '2']);
    expect(interrupted.code, shown(interrupted)).toBe(75);
    expect(interrupted.stderr).toContain('companion-bootstrap: rooms 2/2');
    expect(interrupted.stderr).toMatch(/stopped \(--max-items 2\): rooms 2\/2 \(0 done before\), users 0\/\d+/);
    expect(await checkpointed()).toBe(2);
    await until('the rooms’ memberships', async () =>
      (await membership(privateRoom, carol.user_id))?.[0] === 'invite' ? true : undefined,
    );
    expect((await membership(firstRoom, alice.user_id))?.[0]).toBe('join');
    expect((await membership(firstRoom, bob.user_id))?.[0]).toBe('join');
    expect((await membership(privateRoom, alice.user_id))?.[0]).toBe('join');
    // The names the member events carry come with them; the custom fields come with the users.
    expect(await field(alice.user_id, 'displayname')).toBe('"Alice Before"');
    expect(await field(alice.user_id, 'm.status')).toBeUndefined();

    // Resumed: the rooms are not read again, every local user's profile is appended.
    const resumed = await ops(['companion-bootstrap']);
    expect(resumed.code, shown(resumed)).toBe(0);
    const users = Number(/users (\d+)\/(\d+) \(0 done before\)/.exec(resumed.stdout)?.[2]);
    expect(users).toBeGreaterThanOrEqual(4); // alice, bob, carol and the admin (and the appservice's own user)
    expect(resumed.stdout).toContain(`rooms 2/2 (2 done before), users ${users}/${users} (0 done before)`);
    expect(resumed.stderr).toContain(`companion-bootstrap: users ${users}/${users}`);
    await until('carol’s custom fields', async () => ((await field(carol.user_id, 'm.tz')) === '"Europe/Paris"' ? true : undefined));
    expect(await field(carol.user_id, 'com.example.pronouns')).toBe('"they/them"');
    expect(JSON.parse((await field(alice.user_id, 'm.status'))!)).toEqual({ text: 'on a boat', emoji: '⛵' });
    expect(await field(carol.user_id, 'displayname')).toBeDefined();

    // A re-run: everything is checkpointed, nothing appended.
    const appendedSoFar = [interrupted.stderr, resumed.stdout].map(eventsAppended);
    expect(appendedSoFar.every((count) => count > 0)).toBe(true);
    await until('the projector consumed both runs', async () =>
      (await consumed()) === appendedSoFar[0]! + appendedSoFar[1]! ? true : undefined,
    );
    const before = await projectionRows();
    const positions = await consumed();
    const again = await ops(['companion-bootstrap']);
    expect(again.code, shown(again)).toBe(0);
    expect(again.stdout).toContain(`rooms 2/2 (2 done before), users ${users}/${users} (${users} done before), events appended 0`);
    // From the start (--restart): the same events again, applied as nothing new (same rows, same log offsets).
    const restarted = await ops(['companion-bootstrap', '--restart']);
    expect(restarted.code, shown(restarted)).toBe(0);
    const appended = eventsAppended(restarted.stdout);
    expect(appended).toBeGreaterThan(0);
    await until('the projector consumed the re-appended events', async () =>
      (await consumed()) === positions + appended ? true : undefined,
    );
    expect(await projectionRows()).toEqual(before);
  }, 180_000);

  it('a snapshot read before a leave and appended after the feed delivered it never undoes the leave, nor a write through the project', async () => {
    const roomId = await shareAPublicRoom(hs().baseUrl, alice, bob);
    const snapshotFile = join(scratch, 'snapshot.json');
    const saved = await ops(['companion-bootstrap', '--save-snapshot', snapshotFile]);
    expect(saved.code, shown(saved)).toBe(0);
    expect(saved.stdout).toContain(`snapshot saved to ${snapshotFile}: rooms 3`);
    const file = JSON.parse(readFileSync(snapshotFile, 'utf8')) as { rooms: { room_id: string; member_events: { state_key: string }[] }[] };
    expect(
      file.rooms
        .find((room) => room.room_id === roomId)
        ?.member_events.map((event) => event.state_key)
        .sort(),
    ).toEqual([alice.user_id, bob.user_id].sort());

    // Installed now: the writer takes the feed; a successful ping makes Synapse retry its queue at once.
    writer!.start();
    await writer!.waitReady();
    expectOk(
      await request('POST', `/_matrix/client/v1/appservice/${encodeURIComponent(hs().appservice.id)}/ping`, {
        baseUrl: hs().baseUrl,
        token: hs().appservice.asToken,
        body: {},
      }),
      'appservice ping',
    );
    // Bob leaves after the snapshot was read; the feed delivers the leave.
    expectOk(
      await request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, {
        baseUrl: hs().baseUrl,
        token: bob.access_token,
        body: {},
      }),
      'leave',
    );
    const leave = await until('bob’s leave through the feed', async () => {
      const row = await membership(roomId, bob.user_id);
      return row?.[0] === 'leave' ? row : undefined;
    });
    // Alice changes m.status through the project (Synapse, then the log) after the snapshot was read.
    expectOk(
      await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.user_id)}/m.status`, {
        baseUrl: writer!.url,
        token: alice.access_token,
        body: { 'm.status': { text: 'ashore' } },
      }),
      'PUT m.status through the project',
    );
    expect(JSON.parse((await field(alice.user_id, 'm.status'))!)).toEqual({ text: 'ashore' });

    // The old snapshot appended now, everything of it (--restart): the new room and alice's old m.status included.
    const late = await ops(['companion-bootstrap', '--restart', '--from-snapshot', snapshotFile]);
    expect(late.code, shown(late)).toBe(0);
    expect(late.stdout).toMatch(/complete: rooms 3\/3 \(0 done before\)/);
    // Markers after the snapshot on the same partitions: carol joins the room (key: room ID), alice sets m.tz (key: alice).
    expectOk(
      await request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
        baseUrl: hs().baseUrl,
        token: carol.access_token,
        body: {},
      }),
      'carol joins',
    );
    await until('carol’s join, appended after the snapshot', async () =>
      (await membership(roomId, carol.user_id))?.[0] === 'join' ? true : undefined,
    );
    expectOk(
      await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.user_id)}/m.tz`, {
        baseUrl: writer!.url,
        token: alice.access_token,
        body: { 'm.tz': 'Atlantic/Azores' },
      }),
      'PUT m.tz through the project',
    );
    expect(await membership(roomId, bob.user_id)).toEqual(leave);
    expect(JSON.parse((await field(alice.user_id, 'm.status'))!)).toEqual({ text: 'ashore' });
  }, 180_000);

  it('verify finds a custom field changed straight at Synapse (exit 2); --repair makes the projection equal and exits 0', async () => {
    const equal = await ops(['companion-verify']);
    expect(equal.code, shown(equal)).toBe(0);
    expect(equal.stdout).toMatch(/companion-verify: users \d+, differences 0 /);

    // Carol changes a field and removes another straight at Synapse, without the project.
    await putAtSynapse(carol, 'com.example.pronouns', 'she/her');
    expectOk(
      await request('DELETE', `/_matrix/client/v3/profile/${encodeURIComponent(carol.user_id)}/m.tz`, {
        baseUrl: hs().baseUrl,
        token: carol.access_token,
      }),
      'DELETE m.tz at Synapse',
    );
    const found = await ops(['companion-verify']);
    expect(found.code, shown(found)).toBe(2);
    expect(found.stdout).toContain('differences 2 (missing 0, extra 1, different 1; 0 changed during verify)');
    expect(found.stdout).toContain(`${carol.user_id} com.example.pronouns: different, homeserver "she/her", projection "they/them"`);
    expect(found.stdout).toContain(`${carol.user_id} m.tz: extra, homeserver unset, projection "Europe/Paris"`);
    expect(found.stderr).toContain('repair with --repair');
    expect(await field(carol.user_id, 'com.example.pronouns')).toBe('"they/them"');

    const repaired = await ops(['companion-verify', '--repair']);
    expect(repaired.code, shown(repaired)).toBe(0);
    expect(repaired.stdout).toContain('repaired 2 differences; the projection shows them');
    expect(await field(carol.user_id, 'com.example.pronouns')).toBe('"she/her"');
    expect(await field(carol.user_id, 'm.tz')).toBeUndefined();
    const after = await ops(['companion-verify']);
    expect(after.code, shown(after)).toBe(0);

    const refused = await ops(['companion-verify', '--admin-token', 'syt_not_an_admin_token']);
    expect(refused.code, shown(refused)).toBe(77);
  }, 180_000);
});
