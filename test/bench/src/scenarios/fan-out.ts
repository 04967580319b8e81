import { forEachBounded } from '../bounded.js';
import { LoopLag } from '../loop-lag.js';
import { type Json } from '../matrix-client.js';
import { every, log } from '../progress.js';
import { CpuMeter } from '../proc.js';
import { profileUpdates } from '../profile-updates.js';
import { createPrng, subSeed } from '../prng.js';
import { latencyPlots, throughputPlot } from '../report/charts.js';
import { type ScenarioResult } from '../report/model.js';
import { coMembers } from '../room-assignment.js';
import { roundSummary, summarize } from '../stats.js';
import { now, sleep } from '../time.js';
import { connectionHint, newResult, type ScenarioContext } from './context.js';

interface Client {
  since: string | undefined;
  lastError?: string;
  /** Last value seen per writer index (this run's values and earlier ones). */
  readonly lastSeen: Map<number, unknown>;
  syncs: number;
  errors: number;
  parked: boolean;
}

interface Ack {
  readonly writer: number;
  readonly at: number;
  /** When the PUT was started (monotonic ms). */
  readonly sent: number;
}

/**
 * Scenario 1: every user long-polls /sync with a profile filter while writers change the field of
 * random users at a fixed rate. Latency = when a co-member's /sync response carrying the value was
 * complete − when the PUT's 200 arrived (both on this process's monotonic clock). Then: pairs whose
 * last seen value is not the writer's last acknowledged one (missing), and values received from users
 * sharing no room (leaks).
 */
export async function runFanOut(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const result = newResult('fanout', 'Fan-out: profile updates to long-polling co-members', {
    clients: o.users,
    roomSize: o.roomSize,
    roomsPerUser: o.roomsPerUser,
    writesPerSecond: o.fanoutRate,
    durationS: o.fanoutDurationS,
    settleS: o.fanoutSettleS,
    longPollMs: o.fanoutLongPollMs,
    field: o.field,
  });
  const setup = await ctx.social();
  const users = setup.users;
  const count = users.length;
  const co = coMembers(
    setup.rooms.map((room) => room.members),
    count,
  );
  const coSets = co.map((list) => new Set(list));
  const indexOf = new Map(users.map((user) => [user.userId, user.index]));
  const prefix = `${ctx.runTag}:`;
  const filters = new Array<string>(count);
  const deadline = now() + o.setupTimeoutS * 1000;
  await forEachBounded(
    users,
    32,
    async (user) => {
      filters[user.index] = await ctx.filterId(user, [o.field]);
    },
    { deadline, label: 'fan-out filters' },
  );

  // Deliveries, as parallel arrays: which write, to whom, when.
  const deliverySeq: number[] = [];
  const deliveryReceiver: number[] = [];
  const deliveryAt: number[] = [];
  const syncTimes: number[] = [];
  let leaks = 0;
  const leakPairs = new Set<string>();
  let departures = 0;
  let foreignValues = 0;
  let responseBytes = 0;

  const clients: Client[] = users.map(() => ({ since: undefined, lastSeen: new Map(), syncs: 0, errors: 0, parked: false }));
  const record = (receiver: number, body: Json, at: number) => {
    for (const [userId, fields] of profileUpdates(body)) {
      const writer = indexOf.get(userId);
      if (writer === receiver) continue;
      if (writer === undefined || !coSets[receiver]!.has(writer)) {
        leaks += 1;
        leakPairs.add(`${receiver}>${userId}`);
        continue;
      }
      if (fields === null) {
        departures += 1;
        continue;
      }
      if (!(o.field in fields)) continue;
      const value = fields[o.field];
      clients[receiver]!.lastSeen.set(writer, value);
      if (typeof value === 'string' && value.startsWith(prefix)) {
        deliverySeq.push(Number(value.slice(prefix.length)));
        deliveryReceiver.push(receiver);
        deliveryAt.push(at);
      } else foreignValues += 1;
    }
  };

  // 1. Initial syncs: every client's starting token and the current values.
  const initial = await forEachBounded(
    users,
    32,
    async (user) => {
      const response = await ctx.matrix.sync(user.token, { filter: filters[user.index]!, timeout: 0 });
      if (response.status !== 200) throw new Error(`initial sync: HTTP ${response.status}`);
      clients[user.index]!.since = String(response.body['next_batch']);
      record(user.index, response.body, response.at);
    },
    { deadline, label: 'fan-out initial syncs', maxFailures: count },
  );
  if (initial.failed > 0)
    result.notes.push(`${initial.failed} initial syncs failed (${initial.errors[0] ?? ''}); those clients start from scratch`);
  // Values from before this run are baselines, not deliveries of this run.
  deliverySeq.length = 0;
  deliveryReceiver.length = 0;
  deliveryAt.length = 0;
  foreignValues = 0;
  const leaksAtInitialSync = leaks;

  // 2. Long-poll loops.
  const stop = new AbortController();
  const stopped = () => stop.signal.aborted;
  const totalWrites = Math.round(o.fanoutRate * o.fanoutDurationS);
  const hardEnd = now() + (o.fanoutDurationS + o.fanoutSettleS + 60) * 1000;
  const maxIterations = Math.ceil((o.fanoutDurationS + o.fanoutSettleS + 60) * 200);
  const loop = async (index: number) => {
    const client = clients[index]!;
    const user = users[index]!;
    for (let iteration = 0; iteration < maxIterations && !stopped() && now() < hardEnd; iteration += 1) {
      try {
        client.parked = true;
        const response = await ctx.matrix.sync(
          user.token,
          { filter: filters[index]!, since: client.since, timeout: o.fanoutLongPollMs },
          { signal: stop.signal },
        );
        if (stopped()) return;
        client.syncs += 1;
        syncTimes.push(response.at);
        responseBytes += response.bytes;
        if (response.status !== 200) {
          client.errors += 1;
          client.lastError = `HTTP ${response.status}`;
          await sleep(200, stop.signal);
          continue;
        }
        record(index, response.body, response.at);
        const next = response.body['next_batch'];
        if (typeof next === 'string') client.since = next;
      } catch (error) {
        if (stopped()) return;
        client.errors += 1;
        client.lastError = error instanceof Error ? error.message : String(error);
        await sleep(200, stop.signal);
      }
    }
  };
  const loops = users.map((user) => loop(user.index));
  const parkedBy = now() + 60_000;
  while (clients.some((client) => !client.parked) && now() < parkedBy) await sleep(50);
  await sleep(Math.min(3000, 500 + count));
  log(`fan-out: ${count} clients long-polling; writing ${totalWrites} values at ${o.fanoutRate}/s`);

  // 3. Writers: open loop at a fixed rate; one write in flight per user, so ack order is write order.
  const lag = new LoopLag();
  const cpu = new CpuMeter(ctx.processes);
  await cpu.start();
  lag.start();
  const prng = createPrng(subSeed(o.seed, 'fanout-writers'));
  const acks = new Map<number, Ack>();
  /** Per writer, its writes in order (one at a time per writer): acked, unknown outcome (5xx, no answer) or rejected (4xx). */
  const history = new Map<number, { seq: number; outcome: 'acked' | 'unknown' | 'rejected' }[]>();
  const outcome = (writer: number, seq: number, result: 'acked' | 'unknown' | 'rejected') => {
    const list = history.get(writer) ?? [];
    list.push({ seq, outcome: result });
    history.set(writer, list);
  };
  const busy = new Set<number>();
  const putLatencies: number[] = [];
  const ackTimes: number[] = [];
  let skipped = 0;
  let putFailed = 0;
  let putRateLimited = 0;
  const inFlight = new Set<Promise<void>>();
  const pick = (): number | undefined => {
    for (let tries = 0; tries < 20; tries += 1) {
      const candidate = prng.int(count);
      if (!busy.has(candidate)) return candidate;
    }
    for (let i = 0; i < count; i += 1) if (!busy.has(i)) return i;
    return undefined;
  };
  const write = (seq: number) => {
    const writer = inFlight.size >= o.fanoutMaxInFlight ? undefined : pick();
    if (writer === undefined) {
      skipped += 1;
      return;
    }
    busy.add(writer);
    const user = users[writer]!;
    const sent = now();
    const task = (async () => {
      try {
        const response = await ctx.matrix.putProfileField(user.token, user.userId, o.field, `${prefix}${seq}`);
        putRateLimited += response.rateLimited;
        if (response.status === 200) {
          acks.set(seq, { writer, at: response.at, sent });
          outcome(writer, seq, 'acked');
          putLatencies.push(response.ms);
          ackTimes.push(response.at);
        } else {
          putFailed += 1;
          outcome(writer, seq, response.status >= 500 ? 'unknown' : 'rejected');
        }
      } catch {
        putFailed += 1;
        outcome(writer, seq, 'unknown');
      } finally {
        busy.delete(writer);
      }
    })();
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };
  const startedAt = now();
  const interval = 1000 / o.fanoutRate;
  const stopProgress = every(2000, () => {
    const elapsed = ((now() - startedAt) / 1000).toFixed(1);
    return `fan-out ${elapsed} s: ${acks.size}/${totalWrites} writes acked, ${deliverySeq.length} deliveries, ${leaks - leaksAtInitialSync} leaks, ${inFlight.size} in flight`;
  });
  let issued = 0;
  while (issued < totalWrites && now() < hardEnd) {
    const due = Math.min(totalWrites, Math.floor((now() - startedAt) / interval) + 1);
    while (issued < due) {
      write(issued);
      issued += 1;
    }
    await sleep(Math.max(1, startedAt + issued * interval - now()));
  }
  const writingMs = now() - startedAt;
  await Promise.race([Promise.all([...inFlight]), sleep(Math.max(0, hardEnd - now()))]);
  const lastAckAt = now();

  // 4. Settle: until every co-member of each writer holds a value the writer may have ended with
  // (its last acknowledged one, or a later one whose PUT had an unknown outcome) and all of them
  // agree, or the settle time ran out. Writers without any acknowledged write cannot be checked.
  const finals = new Map<number, Set<unknown>>();
  let unverifiable = 0;
  for (const [writer, list] of history) {
    const last = list.findLastIndex((write) => write.outcome === 'acked');
    if (last === -1) {
      unverifiable += 1;
      continue;
    }
    finals.set(
      writer,
      new Set(
        list
          .slice(last)
          .filter((write) => write.outcome !== 'rejected')
          .map((write) => `${prefix}${write.seq}`),
      ),
    );
  }
  const check = () => {
    let missing = 0;
    let divergent = 0;
    for (const [writer, candidates] of finals) {
      const seen = new Set<unknown>();
      for (const receiver of co[writer]!) {
        const value = clients[receiver]!.lastSeen.get(writer);
        seen.add(value);
        if (!candidates.has(value)) missing += 1;
      }
      if (seen.size > 1) divergent += 1;
    }
    return { missing, divergent };
  };
  let { missing, divergent } = check();
  const settleEnd = now() + o.fanoutSettleS * 1000;
  while ((missing > 0 || divergent > 0) && now() < settleEnd) {
    await sleep(100);
    ({ missing, divergent } = check());
  }
  const settledMs = now() - lastAckAt;
  stopProgress();
  const lagStats = lag.stop();
  const cpuStats = await cpu.stop();
  stop.abort();
  await Promise.race([Promise.all(loops), sleep(10_000)]);

  // 5. Figures.
  const latencies: number[] = [];
  /** From the PUT's start instead of its 200: what a user sees, whichever server answers its writes sooner. */
  const fromStart: number[] = [];
  let unackedDeliveries = 0;
  const seenPairs = new Set<string>();
  let duplicates = 0;
  for (let i = 0; i < deliverySeq.length; i += 1) {
    const ack = acks.get(deliverySeq[i]!);
    const key = `${deliverySeq[i]!}>${deliveryReceiver[i]!}`;
    if (seenPairs.has(key)) {
      duplicates += 1;
      continue;
    }
    seenPairs.add(key);
    if (!ack) unackedDeliveries += 1;
    else {
      latencies.push(deliveryAt[i]! - ack.at);
      fromStart.push(deliveryAt[i]! - ack.sent);
    }
  }
  let expected = 0;
  for (const ack of acks.values()) expected += co[ack.writer]!.length;
  const latency = roundSummary(summarize(latencies));
  const negative = latencies.filter((value) => value < 0).length;
  const clientErrors = clients.reduce((sum, client) => sum + client.errors, 0);
  const syncs = clients.reduce((sum, client) => sum + client.syncs, 0);
  const newLeaks = leaks;
  Object.assign(result.details, {
    writes: { scheduled: totalWrites, acked: acks.size, failed: putFailed, skippedOverload: skipped, rateLimited: putRateLimited },
    writingSeconds: Math.round(writingMs) / 1000,
    achievedWritesPerSecond: Math.round((acks.size / (writingMs / 1000)) * 10) / 10,
    putLatencyMs: roundSummary(summarize(putLatencies)),
    deliveryLatencyMs: latency,
    deliveryLatencyFromPutStartMs: roundSummary(summarize(fromStart)),
    negativeLatencies: negative,
    deliveries: {
      expected,
      observed: latencies.length,
      collapsed: Math.max(0, expected - latencies.length),
      duplicates,
      ofUnacknowledgedWrites: unackedDeliveries,
    },
    missingAtEnd: missing,
    writersWhoseReceiversDisagree: divergent,
    writersWithUnknownOutcome: [...history.values()].filter((list) => list.some((write) => write.outcome === 'unknown')).length,
    writersNotVerifiable: unverifiable,
    settleSeconds: Math.round(settledMs) / 1000,
    leaks: { values: newLeaks, distinctPairs: leakPairs.size, duringInitialSync: leaksAtInitialSync },
    departureNotices: departures,
    valuesFromEarlierRuns: foreignValues,
    syncResponses: syncs,
    syncResponseBytes: responseBytes,
    clientErrors,
    coMembersPerUser: roundSummary(summarize(co.map((list) => list.length))),
    harnessEventLoopLag: lagStats,
    cpu: cpuStats,
  });
  if (negative > 0) result.notes.push(`${negative} deliveries arrived before their PUT's 200 (negative latency, recorded as is).`);
  if (skipped > 0)
    result.notes.push(
      `${skipped} scheduled writes were skipped: ${o.fanoutMaxInFlight} writes were already in flight (server overloaded).`,
    );
  if (expected > latencies.length)
    result.notes.push(
      `${expected - latencies.length} of ${expected} expected deliveries were never observed as such: a later value of the same user arrived instead (updates collapse); only the final value must arrive (see missing).`,
    );
  const unknownWrites = [...history.values()].reduce((sum, list) => sum + list.filter((write) => write.outcome === 'unknown').length, 0);
  if (unknownWrites > 0)
    result.notes.push(
      `${unknownWrites} PUTs had an unknown outcome (5xx or no answer); ${unackedDeliveries} deliveries carried values of PUTs not answered 200 (so some of those writes took effect). A writer's final value may be any of its writes from its last acknowledged one on.`,
    );
  if (unverifiable > 0) result.notes.push(`${unverifiable} writers had no acknowledged write: their final value cannot be checked.`);
  if (divergent > 0) result.notes.push(`For ${divergent} writers the co-members ended with different values.`);
  if (lagStats.p99Ms > 20) result.notes.push(`The harness's event loop lagged (p99 ${lagStats.p99Ms} ms): latencies include that.`);
  if (clientErrors > 0) {
    result.notes.push(`${clientErrors} /sync requests of the clients failed (retried after 200 ms).`);
    const errors = [...new Set(clients.map((client) => client.lastError).filter((error): error is string => error !== undefined))];
    result.notes.push(connectionHint(errors, o.syncBaseUrl));
  }
  result.metrics.push(
    {
      id: 'fanout.latency.p50',
      scenario: 'fanout',
      label: 'fan-out delivery latency p50',
      value: latency.p50,
      unit: 'ms',
      better: 'lower',
    },
    {
      id: 'fanout.latency.p90',
      scenario: 'fanout',
      label: 'fan-out delivery latency p90',
      value: latency.p90,
      unit: 'ms',
      better: 'lower',
    },
    {
      id: 'fanout.latency.p99',
      scenario: 'fanout',
      label: 'fan-out delivery latency p99',
      value: latency.p99,
      unit: 'ms',
      better: 'lower',
    },
    {
      id: 'fanout.latency.max',
      scenario: 'fanout',
      label: 'fan-out delivery latency max',
      value: latency.max,
      unit: 'ms',
      better: 'lower',
    },
    {
      id: 'fanout.latency_from_put_start.p50',
      scenario: 'fanout',
      label: "fan-out delivery latency from the PUT's start p50",
      value: roundSummary(summarize(fromStart)).p50,
      unit: 'ms',
      better: 'lower',
    },
    {
      id: 'fanout.latency_from_put_start.p99',
      scenario: 'fanout',
      label: "fan-out delivery latency from the PUT's start p99",
      value: roundSummary(summarize(fromStart)).p99,
      unit: 'ms',
      better: 'lower',
    },
    {
      id: 'fanout.missing',
      scenario: 'fanout',
      label: 'fan-out deliveries missing at the end',
      value: missing,
      unit: 'pairs',
      better: 'lower',
    },
    {
      id: 'fanout.leaks',
      scenario: 'fanout',
      label: 'fan-out deliveries to users sharing no room',
      value: newLeaks,
      unit: 'values',
      better: 'lower',
    },
    {
      id: 'fanout.put.p99',
      scenario: 'fanout',
      label: 'fan-out PUT latency p99',
      value: putLatencies.length ? roundSummary(summarize(putLatencies)).p99 : null,
      unit: 'ms',
      better: 'lower',
    },
  );
  result.plots.push(...(await latencyPlots(ctx.writePlot, 'fanout', 'Fan-out delivery (PUT 200 → co-member /sync)', latencies)));
  result.plots.push(
    await throughputPlot(
      ctx.writePlot,
      'fanout-throughput.svg',
      'Fan-out: writes acknowledged, deliveries, /sync responses per second',
      startedAt,
      writingMs + settledMs,
      {
        'writes acked': ackTimes,
        deliveries: deliveryAt.filter((at) => at >= startedAt),
        '/sync responses': syncTimes.filter((at) => at >= startedAt),
      },
    ),
  );
  return result;
}
