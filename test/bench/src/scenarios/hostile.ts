import { forEachBoundedStrict } from '../bounded.js';
import {
  coverPartitions,
  keptAdvancing,
  longestStallMs,
  type PositionSample,
  promSamples,
  ResponseTally,
  rssSummary,
  type RssSummary,
} from '../hostile-checks.js';
import { type CaseEnv, HOSTILE_CASES, HOSTILE_FIELD, type HostileRequest, pickCase } from '../hostile-requests.js';
import { HttpClient } from '../http-client.js';
import { kafkaPartition } from '../kafka-partition.js';
import { type Json, type MatrixClient, type MatrixResult } from '../matrix-client.js';
import { CpuMeter, rssBytes } from '../proc.js';
import { profileFilter, profileUpdates } from '../profile-updates.js';
import { createPrng, subSeed } from '../prng.js';
import { every, log } from '../progress.js';
import { projectEnv } from '../project-env.js';
import { type PartitionReading, ProjectionLag } from '../projection-lag.js';
import { type Metric, type ScenarioResult } from '../report/model.js';
import { barChart, lineChart } from '../report/svg-plot.js';
import { loadSetup, saveSetup, setupKey } from '../setup-cache.js';
import { median } from '../stats.js';
import { now, seconds, sleep } from '../time.js';
import { upToDateToken } from '../up-to-date-token.js';
import { newResult, type ScenarioContext } from './context.js';

/** Issue 12's bound on each service's RSS over the mix, in MB (10^6 bytes). */
const RSS_LIMIT_MB = 50;
/** Users per profile partition (key = user ID), so every partition gets good writes. */
const PER_PARTITION = 2;
const RSS_EVERY_MS = 5000;
const POSITIONS_EVERY_MS = 1000;
const ROOM_TOGGLE_MS = 2000;
const GOOD_MAX_IN_FLIGHT = 64;
const REQUEST_TIMEOUT_MS = 30_000;
const LONG_POLL_MS = 30_000;

interface HostileUser {
  readonly localpart: string;
  readonly userId: string;
  readonly token: string;
  /** Profile-topic partition of the user's records. */
  readonly partition: number;
}

interface HostileRoom {
  readonly roomId: string;
  /** Membership-topic partition of the room's records. */
  readonly partition: number;
  /** Indexes into the users. */
  readonly creator: number;
  readonly joiner: number;
}

/**
 * The scenario's own users and rooms (remembered like the other setups): users[0] long-polls and
 * uploads the big filters and is in no room; users[1..] are chosen so that PER_PARTITION of them
 * hash to each profile partition (the first of each writes good values, the others send the hostile
 * requests); one room per membership partition, with a creator and a joiner.
 */
interface HostileSetup {
  readonly namespace: string;
  readonly serverName: string;
  readonly password: string;
  readonly users: HostileUser[];
  readonly rooms: HostileRoom[];
  readonly profilePartitions: number;
  readonly membershipPartitions: number;
  readonly missingRoomPartitions: number[];
  readonly seconds: number;
  readonly reused: boolean;
}

async function stillWorks(matrix: MatrixClient, users: readonly HostileUser[]): Promise<boolean> {
  if (users.length < 2) return false;
  for (const user of [users[0]!, users[1]!, users.at(-1)!]) {
    try {
      if ((await matrix.whoami(user.token)) !== user.userId) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function hostileSetup(ctx: ScenarioContext, profilePartitions: number, membershipPartitions: number): Promise<HostileSetup> {
  const o = ctx.options;
  const key = setupKey({
    kind: 'hostile',
    baseUrl: o.baseUrl,
    seed: o.seed,
    profilePartitions,
    membershipPartitions,
    perPartition: PER_PARTITION,
  });
  if (!o.fresh) {
    const cached = await loadSetup<HostileSetup>(o.stateDir, 'hostile', key);
    if (cached && (await stillWorks(ctx.matrix, cached.users))) {
      log(`hostile setup: reusing ${cached.users.length} users and ${cached.rooms.length} rooms (namespace ${cached.namespace})`);
      return { ...cached, reused: true };
    }
  }
  const started = now();
  const deadline = now() + o.setupTimeoutS * 1000;
  const namespace = `h${o.seed}${Date.now().toString(36)}`;
  const password = `hostile-${namespace}`;
  log(
    `hostile setup: users covering ${profilePartitions} profile partitions, rooms covering ${membershipPartitions} (namespace ${namespace})`,
  );
  const first = await ctx.matrix.register(`${namespace}-h0`, password);
  const serverName = first.userId.slice(first.userId.indexOf(':') + 1);
  // User IDs are known before registering, so the users are chosen by the partition of their key.
  function* localparts(): Generator<string> {
    for (let i = 1; ; i += 1) yield `${namespace}-h${i}`;
  }
  const cover = coverPartitions(
    localparts(),
    (localpart) => kafkaPartition(`@${localpart}:${serverName}`, profilePartitions),
    profilePartitions,
    PER_PARTITION,
  );
  if (cover.missing.length) throw new Error(`no user ID found for profile partitions ${cover.missing.join(', ')}`);
  const registered = new Array<HostileUser>(cover.chosen.length);
  await forEachBoundedStrict(
    cover.chosen,
    4,
    async ({ candidate }, i) => {
      const { userId, token } = await ctx.matrix.register(candidate, password);
      registered[i] = { localpart: candidate, userId, token, partition: kafkaPartition(userId, profilePartitions) };
    },
    { deadline, label: 'hostile: register users' },
  );
  const users: HostileUser[] = [
    { localpart: `${namespace}-h0`, userId: first.userId, token: first.token, partition: kafkaPartition(first.userId, profilePartitions) },
    ...registered,
  ];
  // Room IDs are the server's choice: create rooms (creators in turn) until every partition has one.
  const actors = users.length - 1;
  const rooms: HostileRoom[] = [];
  const covered = new Set<number>();
  for (let attempt = 0; covered.size < membershipPartitions && attempt < membershipPartitions * 12 && now() < deadline; attempt += 1) {
    const creator = 1 + (attempt % actors);
    const roomId = await ctx.matrix.createRoom(users[creator]!.token, `hostile ${namespace} ${attempt}`);
    const partition = kafkaPartition(roomId, membershipPartitions);
    if (covered.has(partition)) continue;
    covered.add(partition);
    const joiner = 1 + ((attempt + 1) % actors);
    await ctx.matrix.join(users[joiner]!.token, roomId);
    rooms.push({ roomId, partition, creator, joiner });
  }
  rooms.sort((a, b) => a.partition - b.partition);
  const setup: HostileSetup = {
    namespace,
    serverName,
    password,
    users,
    rooms,
    profilePartitions,
    membershipPartitions,
    missingRoomPartitions: Array.from({ length: membershipPartitions }, (_, p) => p).filter((p) => !covered.has(p)),
    seconds: Math.round(now() - started) / 1000,
    reused: false,
  };
  await saveSetup(o.stateDir, 'hostile', key, setup);
  return setup;
}

/** At most `max` functions running at once; the others wait their turn. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

interface RawAnswer {
  /** Undefined when no response arrived. */
  readonly status: number | undefined;
  readonly text: string;
  /** When the answer (or the failure) came, monotonic ms. */
  readonly at: number;
}

/** One raw request (no 429 back-off: the mix wants to see every answer), counted in the run's HTTP figures. */
async function send(http: HttpClient, matrix: MatrixClient, request: HostileRequest, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.token) headers['Authorization'] = `Bearer ${request.token}`;
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';
  matrix.stats.requests += 1;
  try {
    const response = await http.request(request.method, request.path, {
      headers,
      timeoutMs,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    matrix.stats.count(response.status);
    return { status: response.status, text: response.text, at: now() };
  } catch (error) {
    matrix.stats.transportErrors += 1;
    return { status: undefined, text: error instanceof Error ? error.message : String(error), at: now() };
  }
}

/** The body as received, for the Matrix-error check (MatrixClient wraps a non-JSON body in its own error object). */
function resultText(result: MatrixResult<Json>): string {
  return result.body['errcode'] === 'BENCH_NOT_JSON' ? String(result.body['error']) : JSON.stringify(result.body);
}

/** Median of `count` RSS readings `gapMs` apart, in bytes. */
async function settledRss(pid: number | undefined, count = 5, gapMs = 200): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const values: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const value = await rssBytes(pid);
    if (value !== undefined) values.push(value);
    if (i < count - 1) await sleep(gapMs);
  }
  return median(values) ?? undefined;
}

const partKey = (topic: string, partition: number) => `${topic}/${partition}`;

/**
 * Issue 12, "Done when": under a one-minute mix of every hostile input of the issue (sent
 * through the router, at most `--hostile-concurrency` in flight), interleaved with good profile
 * writes from users hashed to every profile partition and joins/leaves of rooms hashed to every
 * membership partition, the RSS of each service stays within 50 MB of its start and every
 * partition keeps advancing. Also: every response by status class, 5xx (must be 0), non-Matrix
 * error bodies (must be 0), and long-polls parked when their token is logged out.
 */
export async function runHostile(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const durationMs = o.hostileDurationS * 1000;
  const logoutCycles = Math.max(1, Math.ceil(o.hostileDurationS / 10));
  const result = newResult('hostile', 'Hostile input and resource abuse: RSS and partition progress under a hostile mix (issue 12)', {
    durationS: o.hostileDurationS,
    concurrency: o.hostileConcurrency,
    settleS: o.hostileSettleS,
    goodWritesPerSecond: o.hostileGoodRate,
    roomToggleEveryMs: ROOM_TOGGLE_MS,
    logoutCycles,
    rssLimitMB: RSS_LIMIT_MB,
    rssSampleEveryS: RSS_EVERY_MS / 1000,
    cases: HOSTILE_CASES.map((c) => ({ name: c.name, what: c.what, expected: c.expectation, weight: c.weight, everyMs: c.everyMs })),
  });
  const project = o.target === 'project';
  const env = project ? await projectEnv(o.projectRoot) : {};
  const lag = project ? await ProjectionLag.connect(env) : undefined;
  const http = new HttpClient(o.baseUrl);
  try {
    // Partition counts from the broker itself (the stack's MX_TOPIC_PARTITIONS decided them).
    let profilePartitions = 1;
    let membershipPartitions = 1;
    if (lag) {
      const readings = await lag.partitions();
      if (!readings) throw new Error('cannot read the topics and the projection positions (broker or database down?)');
      profilePartitions = readings.filter((r) => r.topic === lag.topicNames[0]).length;
      membershipPartitions = readings.filter((r) => r.topic === lag.topicNames[1]).length;
      if (profilePartitions === 0 || membershipPartitions === 0) throw new Error('the topics have no partitions');
    } else result.notes.push(`Target ${o.target}: partition positions and the projector's metrics are not read (this project only).`);

    const setup = await hostileSetup(ctx, profilePartitions, membershipPartitions);
    const users = setup.users;
    const poller = users[0]!;
    const actors = users.slice(1);
    // Per profile partition, the first user writes good values and the others attack, so the
    // attackers' own per-user limits never slow the good writes, and both reach every partition.
    const byPartition = Array.from({ length: profilePartitions }, (_, p) => actors.filter((user) => user.partition === p));
    const goodWriters = byPartition.flatMap((group) => group.slice(0, 1));
    const attackers = byPartition.flatMap((group) => group.slice(1));
    const hostileActors = attackers.length ? attackers : actors;
    if (setup.missingRoomPartitions.length)
      result.notes.push(
        `No room could be created on membership partitions ${setup.missingRoomPartitions.join(', ')}: they get no good traffic.`,
      );

    // Tokens for the logout cycles, taken before the mix (the login bursts trip the address's limit).
    const filterJson = JSON.stringify(profileFilter([HOSTILE_FIELD]));
    const logoutTokens: string[] = [];
    for (let i = 0; i < logoutCycles; i += 1) {
      const login = await ctx.matrix.call('POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: poller.userId }, password: setup.password },
      });
      const token = login.body['access_token'];
      if (login.status === 200 && typeof token === 'string') logoutTokens.push(token);
      else result.notes.push(`Login for a logout cycle answered ${login.status}: ${JSON.stringify(login.body).slice(0, 200)}`);
    }

    const processes = ctx.processes.filter((ref) => ref.pid !== undefined);
    if (processes.length === 0) result.notes.push('No server process found: RSS not measured (give --pid name=pidfile).');
    await sleep(1000);
    const rssStart = new Map<string, number | undefined>();
    for (const ref of processes) rssStart.set(ref.name, await settledRss(ref.pid));
    const positionsBefore = lag ? await lag.partitions() : undefined;

    // Sampling: positions and the projector's gauges every second, RSS every 5 s.
    const t0 = now();
    const rssTimeline: { t: number; bytes: Record<string, number | undefined> }[] = [{ t: 0, bytes: Object.fromEntries([...rssStart]) }];
    const positionSamples = new Map<string, PositionSample[]>();
    const gaugeMax = new Map<string, { stalledS: number; lag: number }>();
    // Written by the sampler below (an object, so the compiler does not narrow the flags to their initial values).
    const gaugeState = { reads: 0, stalledSeen: false };
    const projectorPort = env['MX_PROJECTOR_PORT'] ?? '8103';
    const sampling = new AbortController();
    const sampler = (async () => {
      let nextRss = t0 + RSS_EVERY_MS;
      while (!sampling.signal.aborted) {
        const tick = now();
        if (lag) {
          const [readings, metrics] = await Promise.all([lag.partitions(), projectorMetrics(projectorPort)]);
          for (const r of readings ?? []) {
            const key = partKey(r.topic, r.partition);
            const list = positionSamples.get(key) ?? [];
            list.push({ t: tick, position: r.position, high: r.high });
            positionSamples.set(key, list);
          }
          if (metrics !== undefined) {
            gaugeState.reads += 1;
            const stalled = promSamples(metrics, 'mx_projector_partition_stalled_seconds');
            if (stalled.length) gaugeState.stalledSeen = true;
            const bump = (samples: typeof stalled, field: 'stalledS' | 'lag') => {
              for (const sample of samples) {
                const key = partKey(sample.labels['topic'] ?? '?', Number(sample.labels['partition']));
                const entry = gaugeMax.get(key) ?? { stalledS: 0, lag: 0 };
                entry[field] = Math.max(entry[field], sample.value);
                gaugeMax.set(key, entry);
              }
            };
            bump(stalled, 'stalledS');
            bump(promSamples(metrics, 'mx_projector_consumer_lag'), 'lag');
          }
        }
        if (now() >= nextRss) {
          nextRss += RSS_EVERY_MS;
          const bytes: Record<string, number | undefined> = {};
          for (const ref of processes) bytes[ref.name] = await rssBytes(ref.pid!);
          rssTimeline.push({ t: now() - t0, bytes });
        }
        await sleep(Math.max(0, tick + POSITIONS_EVERY_MS - now()), sampling.signal);
      }
    })();

    const tally = new ResponseTally();
    const cpu = new CpuMeter(ctx.processes);
    await cpu.start();
    const end = t0 + durationMs;
    const stopProgress = every(5000, () => {
      const s = tally.snapshot();
      const rss = rssTimeline.at(-1);
      const rssText = rss
        ? Object.entries(rss.bytes)
            .map(([name, bytes]) => `${name} ${bytes === undefined ? '?' : (bytes / 1e6).toFixed(0)} MB`)
            .join(', ')
        : '';
      return `hostile: ${s.requests} answers in ${((now() - t0) / 1000).toFixed(0)} s, ${s.serverErrors} × 5xx, ${s.nonMatrixErrors} non-Matrix error bodies, ${s.transportErrors} without answer; RSS ${rssText}`;
    });

    // 1. The hostile mix: workers pick cases (weighted, seeded); each request takes a slot.
    const limiter = new Limiter(o.hostileConcurrency);
    const lastStart = new Map<string, number>();
    let seq = 0;
    const hostileStarted = now();
    const workers = Array.from({ length: o.hostileConcurrency }, async (_, w) => {
      const prng = createPrng(subSeed(o.seed, `hostile:${w}`));
      while (now() < end) {
        const chosen = pickCase(HOSTILE_CASES, lastStart, now(), prng.next());
        if (!chosen) {
          await sleep(20);
          continue;
        }
        lastStart.set(chosen.name, now());
        const n = seq;
        seq += 1;
        const room = setup.rooms[n % Math.max(1, setup.rooms.length)];
        const caseEnv: CaseEnv = {
          user: hostileActors[n % hostileActors.length]!,
          filterUser: poller,
          room: room ? { roomId: room.roomId, creator: users[room.creator]! } : { roomId: '!none:invalid', creator: hostileActors[0]! },
          serverName: setup.serverName,
          tag: `${ctx.runTag}-${n}`,
        };
        await Promise.all(
          chosen.build(caseEnv).map((request) =>
            limiter.run(async () => {
              const answer = await send(http, ctx.matrix, request);
              tally.record(chosen.name, answer.status, answer.text, answer.status !== undefined && chosen.expect(answer.status));
            }),
          ),
        );
      }
    });

    // 2. Good profile writes, open loop, in turn over the partitions.
    const order = goodWriters;
    const goodByPartition = new Map<string, { ok: number; failed: number }>();
    const countGood = (key: string, ok: boolean) => {
      const entry = goodByPartition.get(key) ?? { ok: 0, failed: 0 };
      if (ok) entry.ok += 1;
      else entry.failed += 1;
      goodByPartition.set(key, entry);
    };
    let goodSkipped = 0;
    let goodRateLimited = 0;
    const profileTopic = lag?.topicNames[0] ?? 'profile';
    const membershipTopic = lag?.topicNames[1] ?? 'membership';
    const goodWrites = (async () => {
      const interval = 1000 / o.hostileGoodRate;
      const inflight = new Set<Promise<void>>();
      for (let i = 0; now() < end && order.length; i += 1) {
        const due = t0 + i * interval;
        if (now() < due) await sleep(due - now());
        if (now() >= end) break;
        if (inflight.size >= GOOD_MAX_IN_FLIGHT) {
          goodSkipped += 1;
          continue;
        }
        const user = order[i % order.length]!;
        const key = partKey(profileTopic, user.partition);
        const write: Promise<void> = ctx.matrix
          .putProfileField(user.token, user.userId, o.field, `${ctx.runTag}-h:${i}`, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
          .then(
            (response) => {
              goodRateLimited += response.rateLimited;
              tally.record('good-profile-write', response.status, resultText(response), response.status === 200);
              countGood(key, response.status === 200);
            },
            (error: unknown) => {
              tally.record('good-profile-write', undefined, error instanceof Error ? error.message : String(error), false);
              countGood(key, false);
            },
          )
          .finally(() => inflight.delete(write));
        inflight.add(write);
      }
      await Promise.all(inflight);
    })();

    // 3. Good room events: each room's joiner joins and leaves in turn (one room per membership partition).
    const roomLoops = setup.rooms.map(async (room) => {
      const joiner = users[room.joiner]!;
      const key = partKey(membershipTopic, room.partition);
      for (let i = 0; now() < end; i += 1) {
        const started = now();
        const join = i % 2 === 0; // the first one joins: whatever the last run left, the room is then joined
        const path = join
          ? `/_matrix/client/v3/join/${encodeURIComponent(room.roomId)}`
          : `/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/leave`;
        try {
          const response = await ctx.matrix.call('POST', path, { token: joiner.token, body: {}, timeoutMs: REQUEST_TIMEOUT_MS });
          goodRateLimited += response.rateLimited;
          tally.record(join ? 'good-room-join' : 'good-room-leave', response.status, resultText(response), response.status === 200);
          countGood(key, response.status === 200);
        } catch (error) {
          tally.record(
            join ? 'good-room-join' : 'good-room-leave',
            undefined,
            error instanceof Error ? error.message : String(error),
            false,
          );
          countGood(key, false);
        }
        await sleep(Math.max(0, started + ROOM_TOGGLE_MS - now()));
      }
    });

    // 4. Long-polls parked, then their token logged out: the poll must end 401 (or empty), never with data.
    const logoutOutcomes = { answeredBeforeLogout: 0, unknownToken: 0, emptyAfterLogout: 0, dataAfterLogout: 0, other: 0, notRun: 0 };
    const logoutLoop = (async () => {
      for (let k = 0; k < logoutTokens.length; k += 1) {
        const startAt = t0 + (k * durationMs) / logoutTokens.length;
        if (now() < startAt) await sleep(startAt - now());
        if (now() >= end) {
          logoutOutcomes.notRun += logoutTokens.length - k;
          break;
        }
        const token = logoutTokens[k]!;
        let since: string;
        try {
          since = await upToDateToken(ctx.matrix, token, filterJson, 3);
        } catch (error) {
          tally.record('longpoll-setup', undefined, error instanceof Error ? error.message : String(error), false);
          logoutOutcomes.other += 1;
          continue;
        }
        const query = `filter=${encodeURIComponent(filterJson)}&since=${encodeURIComponent(since)}&timeout=${LONG_POLL_MS}`;
        const poll = send(http, ctx.matrix, { method: 'GET', path: `/_matrix/client/v3/sync?${query}`, token }, LONG_POLL_MS + 15_000);
        await sleep(1000);
        const logoutAt = now();
        const logout = await send(http, ctx.matrix, { method: 'POST', path: '/_matrix/client/v3/logout', token, body: '{}' });
        tally.record('logout', logout.status, logout.text, logout.status === 200);
        await sleep(300);
        const trigger = await ctx.matrix.putProfileField(poller.token, poller.userId, HOSTILE_FIELD, `${ctx.runTag}-lp:${k}`);
        tally.record('longpoll-trigger-write', trigger.status, resultText(trigger), trigger.status === 200);
        const answer = await poll;
        let verdict: keyof typeof logoutOutcomes;
        if (answer.at < logoutAt) verdict = 'answeredBeforeLogout';
        else if (answer.status === 401) verdict = 'unknownToken';
        else if (answer.status === 200) {
          let data = true;
          try {
            data = profileUpdates(JSON.parse(answer.text) as Json).size > 0;
          } catch {
            // not JSON: counted as data (something came back)
          }
          verdict = data ? 'dataAfterLogout' : 'emptyAfterLogout';
        } else verdict = 'other';
        logoutOutcomes[verdict] += 1;
        tally.record(
          'longpoll-after-logout',
          answer.status,
          answer.text,
          verdict === 'unknownToken' || verdict === 'emptyAfterLogout' || verdict === 'answeredBeforeLogout',
        );
        const after = await send(http, ctx.matrix, { method: 'GET', path: '/_matrix/client/v3/account/whoami', token });
        tally.record('token-after-logout', after.status, after.text, after.status === 401);
      }
    })();

    await Promise.all([...workers, goodWrites, ...roomLoops, logoutLoop]);
    const mixSeconds = (now() - hostileStarted) / 1000;
    const cpuUse = await cpu.stop();
    stopProgress();
    log(`hostile: mix done after ${mixSeconds.toFixed(1)} s; settling ${o.hostileSettleS} s`);
    await sleep(o.hostileSettleS * 1000);
    sampling.abort();
    await sampler;
    const rssEnd = new Map<string, number | undefined>();
    for (const ref of processes) rssEnd.set(ref.name, await settledRss(ref.pid));
    rssTimeline.push({ t: now() - t0, bytes: Object.fromEntries([...rssEnd]) });
    const positionsAfter = lag ? await lag.partitions() : undefined;

    // RSS per process.
    const rss: (RssSummary & { process: string; pid: number | undefined })[] = processes.map((ref) => ({
      process: ref.name,
      pid: ref.pid,
      ...rssSummary(
        rssStart.get(ref.name),
        rssTimeline.slice(1, -1).map((row) => row.bytes[ref.name]),
        rssEnd.get(ref.name),
        RSS_LIMIT_MB,
      ),
    }));

    // Partitions.
    const partitions = lag
      ? partitionRows(positionsBefore, positionsAfter, positionSamples, gaugeMax, goodByPartition, gaugeState.stalledSeen)
      : [];
    const notAdvancing = partitions.filter((row) => !row.keptAdvancing);
    const maxStalled = partitions.reduce<number | null>(
      (most, row) => Math.max(most ?? 0, row.maxStalledSecondsGauge ?? 0, row.longestStallSecondsHarness),
      null,
    );

    const snapshot = tally.snapshot();
    const hostileKinds = new Set(HOSTILE_CASES.map((c) => c.name));
    const hostileRequests = Object.entries(snapshot.byKind)
      .filter(([kind]) => hostileKinds.has(kind))
      .reduce((sum, [, kind]) => sum + kind.requests, 0);
    Object.assign(result.details, {
      units: 'RSS in MB = 10^6 bytes (VmRSS from /proc/<pid>/status, whose "kB" are KiB, converted)',
      rss,
      rssTimeline: rssTimeline.map((row) => ({
        seconds: seconds(row.t),
        MB: Object.fromEntries(
          Object.entries(row.bytes).map(([name, bytes]) => [name, bytes === undefined ? null : Math.round(bytes / 1e5) / 10]),
        ),
      })),
      partitions,
      partitionsNotAdvancing: notAdvancing.map((row) => `${row.topic}/${row.partition}`),
      projectorMetricsReads: gaugeState.reads,
      responses: {
        total: snapshot.requests,
        hostileRequests,
        hostilePerSecond: Math.round((hostileRequests / mixSeconds) * 10) / 10,
        byClass: snapshot.byClass,
        serverErrors: snapshot.serverErrors,
        nonMatrixErrorBodies: snapshot.nonMatrixErrors,
        transportErrors: snapshot.transportErrors,
        unexpectedStatuses: snapshot.unexpected,
      },
      byKind: snapshot.byKind,
      goodTraffic: {
        profileWritesPerSecond: o.hostileGoodRate,
        skippedOverInFlightCap: goodSkipped,
        rateLimitedAndRetried: goodRateLimited,
        byPartition: Object.fromEntries(goodByPartition),
      },
      logoutCycles: logoutOutcomes,
      mixSeconds: Math.round(mixSeconds * 10) / 10,
      cpu: cpuUse,
      setup: {
        namespace: setup.namespace,
        users: users.length,
        rooms: setup.rooms.map((room) => ({ roomId: room.roomId, partition: room.partition })),
        profilePartitions,
        membershipPartitions,
        reused: setup.reused,
        seconds: setup.seconds,
      },
    });

    result.notes.push(
      `RSS in MB (10^6 bytes): settled reading (median of 5 over 1 s) before the mix, one reading every ${RSS_EVERY_MS / 1000} s during it, and a settled reading ${o.hostileSettleS} s after it; "within ${RSS_LIMIT_MB} MB" = no reading more than ${RSS_LIMIT_MB} MB above the start (growth; memory given back shows as start − min). Processes fresh from a restart grow their heaps under any load: run the scenario twice to tell warm-up from a leak.`,
      'A partition kept advancing when the projection position (projection_positions, what the projector commits with its rows) moved forward over the run and is not behind Kafka\u2019s high watermark after the settle time. Stalls: the projector\u2019s mx_projector_partition_stalled_seconds gauge (maximum seen, read every second) and the harness\u2019s own measure (longest time with records past an unchanged position, from the same 1 s readings).',
      `Every 4xx/5xx body must be a Matrix error (JSON with string errcode and error); a request with no answer counts under "transport". Good traffic (profile writes, joins/leaves, the logout cycles) is counted with the hostile requests. Cases and expectations: parameters.cases.`,
    );
    for (const row of rss) {
      if (row.withinLimit === false)
        result.notes.push(
          `${row.process}: RSS grew ${row.maxMinusStartMB} MB above its start (${row.startMB} → max ${row.maxMB}, end ${row.endMB} MB): over ${RSS_LIMIT_MB} MB.`,
        );
      if ((row.startMinusMinMB ?? 0) > 10)
        result.notes.push(
          `${row.process}: RSS went ${row.startMinusMinMB} MB below its start (min ${row.minMB} MB): the start reading held memory of earlier load not yet given back, so the growth figure understates what the mix took above that lower level.`,
        );
    }
    if (notAdvancing.length)
      result.notes.push(
        `Partitions that did not keep advancing: ${notAdvancing.map((row) => `${row.topic}/${row.partition} (position ${row.before} → ${row.after}, high watermark ${row.highAtEnd})`).join('; ')}.`,
      );
    if (lag && !gaugeState.stalledSeen)
      result.notes.push(
        `The projector on :${projectorPort} exposed no mx_projector_partition_stalled_seconds (${gaugeState.reads} reads of /metrics): only the harness\u2019s own stall measure is reported.`,
      );
    for (const [kind, row] of Object.entries(snapshot.byKind))
      if (row.serverErrors || row.nonMatrixErrors || row.unexpected)
        result.notes.push(
          `${kind}: ${row.requests} sent, statuses ${JSON.stringify(row.statuses)}; ${row.serverErrors} × 5xx, ${row.nonMatrixErrors} non-Matrix bodies, ${row.unexpected} unexpected. First: ${row.samples.map((sample) => `${sample.status ?? 'no answer'} ${sample.body.slice(0, 100)}`).join(' | ')}`,
        );
    if (logoutOutcomes.dataAfterLogout)
      result.notes.push(`${logoutOutcomes.dataAfterLogout} long-polls answered 200 with data written after their token was logged out.`);

    const metric = (id: string, label: string, value: number | null, unit: string, better: 'lower' | 'higher' = 'lower'): Metric => ({
      id,
      scenario: 'hostile',
      label,
      value,
      unit,
      better,
    });
    result.metrics.push(
      metric(
        'hostile.requests_per_second',
        'hostile requests answered per second',
        Math.round((hostileRequests / mixSeconds) * 10) / 10,
        '/s',
        'higher',
      ),
      metric('hostile.server_errors', 'responses 5xx (hostile and good traffic)', snapshot.serverErrors, 'responses'),
      metric('hostile.non_matrix_error_bodies', '4xx/5xx bodies that are not Matrix errors', snapshot.nonMatrixErrors, 'responses'),
      metric(
        'hostile.unexpected_statuses',
        'answers outside the case\u2019s expectation (transport failures included)',
        snapshot.unexpected,
        'responses',
      ),
      metric('hostile.transport_errors', 'requests without an answer', snapshot.transportErrors, 'requests'),
    );
    for (const row of rss) {
      result.metrics.push(
        metric(`hostile.rss_start.${row.process}`, `${row.process} RSS at the start`, row.startMB, 'MB'),
        metric(`hostile.rss_max.${row.process}`, `${row.process} RSS, largest reading`, row.maxMB, 'MB'),
        metric(`hostile.rss_end.${row.process}`, `${row.process} RSS at the end (after the settle)`, row.endMB, 'MB'),
        metric(`hostile.rss_end_minus_start.${row.process}`, `${row.process} RSS end − start`, row.endMinusStartMB, 'MB'),
        metric(`hostile.rss_growth.${row.process}`, `${row.process} RSS growth: largest reading − start`, row.maxMinusStartMB, 'MB'),
      );
    }
    if (lag)
      result.metrics.push(
        metric(
          'hostile.partitions_not_advancing',
          `partitions that did not keep advancing (of ${partitions.length})`,
          notAdvancing.length,
          'partitions',
        ),
        metric(
          'hostile.max_stalled_seconds',
          'longest partition stall seen (gauge or harness)',
          maxStalled === null ? null : Math.round(maxStalled * 10) / 10,
          's',
        ),
      );
    result.metrics.push(
      metric(
        'hostile.longpoll_data_after_logout',
        'parked long-polls answered with data after their token was logged out',
        logoutOutcomes.dataAfterLogout,
        'polls',
      ),
      metric(
        'hostile.good_writes_failed',
        'good profile writes and room joins/leaves not answered 200',
        [...goodByPartition.values()].reduce((sum, entry) => sum + entry.failed, 0),
        'requests',
      ),
    );

    if (rss.length)
      result.plots.push(
        await ctx.writePlot(
          'hostile-rss.svg',
          'RSS per process through the hostile mix',
          lineChart({
            title: `RSS per process (MB = 10^6 bytes); mix from 0 to ${Math.round(mixSeconds)} s, then ${o.hostileSettleS} s settle`,
            xLabel: 'seconds since the mix started',
            yLabel: 'MB',
            series: rss.map((row) => ({
              name: row.process,
              points: rssTimeline.flatMap((sample) => {
                const bytes = sample.bytes[row.process];
                return bytes === undefined ? [] : [{ x: sample.t / 1000, y: bytes / 1e6 }];
              }),
            })),
            yMin: 0,
          }),
        ),
      );
    if (partitions.length)
      result.plots.push(
        await ctx.writePlot(
          'hostile-partitions.svg',
          'Records projected per partition during the hostile mix',
          barChart({
            title: 'Records projected per partition during the mix (position after − before)',
            xLabel: 'topic/partition',
            yLabel: 'records',
            categories: partitions.map((row) => `${row.topic.replace(/^.*?\.(\w+)\.v\d+$/, '$1')}/${row.partition}`),
            series: [{ name: 'advanced by', values: partitions.map((row) => row.advancedBy) }],
          }),
        ),
      );
    return result;
  } finally {
    http.close();
    await lag?.close();
  }
}

/** The projector's /metrics text, or undefined when it does not answer. */
async function projectorMetrics(port: string): Promise<string | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

function partitionRows(
  before: readonly PartitionReading[] | undefined,
  after: readonly PartitionReading[] | undefined,
  samples: ReadonlyMap<string, PositionSample[]>,
  gauges: ReadonlyMap<string, { stalledS: number; lag: number }>,
  good: ReadonlyMap<string, { ok: number; failed: number }>,
  gaugeSeen: boolean,
) {
  const keys = new Map<string, { topic: string; partition: number }>();
  for (const r of [...(before ?? []), ...(after ?? [])])
    keys.set(partKey(r.topic, r.partition), { topic: r.topic, partition: r.partition });
  return [...keys.values()].map(({ topic, partition }) => {
    const key = partKey(topic, partition);
    const b = before?.find((r) => r.topic === topic && r.partition === partition);
    const a = after?.find((r) => r.topic === topic && r.partition === partition);
    const row = { topic, partition, before: b?.position ?? null, after: a?.position ?? null, highAtEnd: a?.high ?? null };
    const gauge = gauges.get(key);
    return {
      ...row,
      advancedBy: row.before !== null && row.after !== null ? row.after - row.before : null,
      behindAtEnd: row.after !== null && row.highAtEnd !== null ? Math.max(0, row.highAtEnd - row.after) : null,
      keptAdvancing: keptAdvancing(row),
      maxStalledSecondsGauge: gaugeSeen ? Math.round((gauge?.stalledS ?? 0) * 10) / 10 : null,
      maxLagGauge: gauge ? gauge.lag : null,
      longestStallSecondsHarness: Math.round(longestStallMs(samples.get(key) ?? []) / 100) / 10,
      goodOk: good.get(key)?.ok ?? 0,
      goodFailed: good.get(key)?.failed ?? 0,
    };
  });
}
