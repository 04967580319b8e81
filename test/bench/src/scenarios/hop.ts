import { forEachBounded } from '../bounded.js';
import { closedLoop } from '../closed-loop.js';
import { cdfPoints } from '../histogram.js';
import {
  addedLatency,
  type HopDelivery,
  type HopFilter,
  hopFilterBody,
  type HopLatencies,
  hopLatencies,
  hopMessageBody,
  hopPairedPhases,
  hopPhases,
  hopRooms,
  type HopSend,
  p50p99,
  pairedDifferences,
  timelineMessages,
} from '../hop-plan.js';
import { LoopLag } from '../loop-lag.js';
import { type MatrixClient } from '../matrix-client.js';
import { every, log } from '../progress.js';
import { CpuMeter } from '../proc.js';
import { type Metric, type ScenarioResult } from '../report/model.js';
import { lineChart } from '../report/svg-plot.js';
import { roundSummary, sortedCopy, summarize } from '../stats.js';
import { now, sleep } from '../time.js';
import { connectionHint, newResult, type ScenarioContext } from './context.js';

const FILTER_LABEL: Record<HopFilter, string> = { plain: 'message-only filter', profile: 'MSC4429 filter' };

interface Origin {
  /** `via`: the run's /sync origin (the project's router for companion); `direct`: --hop-direct-url. */
  readonly name: string;
  readonly url: string;
  readonly matrix: MatrixClient;
}

/**
 * A `since` with nothing new behind it on this origin and filter: from `since` (or an initial sync
 * when there is none yet), incremental syncs with timeout 0 until next_batch stops moving.
 */
async function catchUp(matrix: MatrixClient, token: string, filter: string, since: string | undefined, maxRounds = 6): Promise<string> {
  for (let round = 0; round < maxRounds; round += 1) {
    const response = await matrix.sync(token, { filter, since, timeout: 0 });
    if (response.status !== 200) throw new Error(`catch-up sync: HTTP ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
    const next = String(response.body['next_batch']);
    const quiet = since !== undefined && next === since;
    since = next;
    if (quiet) break;
  }
  return since!;
}

/**
 * The hop scenario (issue 14): what the project's extra hop costs an ordinary /sync that carries only
 * messages. Members of H rooms of the social graph long-poll /sync while each room's creator sends
 * `m.room.message` events (open loop, a steady rate over the rooms); per phase one /sync origin and
 * one filter (timeline only, or the same with the MSC4429 key). Latency = when a receiver's /sync
 * response carrying the message was complete − when the send was started (and − its 200). Then, per
 * origin and filter, idle incremental `/sync?timeout=0` with up-to-date tokens (closed loop, few
 * workers, so latency, not throughput). Origins: the run's /sync origin (`via`), and with
 * --hop-direct-url a second one measured alike (`direct`, e.g. the companion's own Synapse); the
 * sends always go to the base URL, so both origins see the same messages. Added = via − direct.
 */
export async function runHop(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const result = newResult('hop', 'Hop: message-only /sync through the project vs straight at the homeserver', {
    rooms: o.hopRooms,
    messagesPerSecond: o.hopRate,
    phaseSeconds: o.hopDurationS,
    settleS: o.hopSettleS,
    rounds: o.hopRounds,
    longPollMs: o.hopLongPollMs,
    idleConcurrency: o.hopIdleConcurrency,
    idleSeconds: o.hopIdleDurationS,
    via: o.syncBaseUrl,
    direct: o.hopDirectUrl ?? null,
  });
  if (o.target === 'project') {
    result.status = 'not-applicable';
    result.notes.push(
      'Not applicable to target project: the standalone project serves no messages (m.room.message); run it against companion mode or a homeserver.',
    );
    return result;
  }
  const origins: Origin[] = [
    { name: 'via', url: o.syncBaseUrl, matrix: ctx.matrix },
    ...(o.hopDirectUrl ? [{ name: 'direct', url: o.hopDirectUrl, matrix: ctx.matrixWithSync(o.hopDirectUrl) }] : []),
  ];
  const setup = await ctx.social();
  const users = setup.users;
  const layout = hopRooms(setup.rooms, o.hopRooms);
  const rooms = layout.rooms;
  const clients = layout.clients;
  const deadline = now() + o.setupTimeoutS * 1000;
  log(
    `hop: ${rooms.length} rooms, ${clients.length} clients, ${o.hopRate} messages/s; origins ${origins.map((each) => `${each.name} ${each.url}`).join(', ')}`,
  );

  // Filters, uploaded through the base URL (in companion mode: to the homeserver, so the same id
  // means the same filter at both origins).
  const filterIds = new Map<HopFilter, string[]>([
    ['plain', new Array<string>(clients.length)],
    ['profile', new Array<string>(clients.length)],
  ]);
  await forEachBounded(
    clients,
    16,
    async (client, i) => {
      const user = users[client]!;
      for (const filter of ['plain', 'profile'] as const)
        filterIds.get(filter)![i] = await ctx.matrix.uploadFilter(user.token, user.userId, hopFilterBody(filter, o.field));
    },
    { deadline, label: 'hop: filters' },
  );
  const tokens = new Map<string, (string | undefined)[]>();
  const tokensOf = (origin: string, filter: HopFilter) => {
    const key = `${origin}|${filter}`;
    let list = tokens.get(key);
    if (!list) {
      list = new Array<string | undefined>(clients.length).fill(undefined);
      tokens.set(key, list);
    }
    return list;
  };
  const catchUpAll = async (origin: Origin, filter: HopFilter, label: string) => {
    const list = tokensOf(origin.name, filter);
    const outcome = await forEachBounded(
      clients,
      16,
      async (client, i) => {
        list[i] = await catchUp(origin.matrix, users[client]!.token, filterIds.get(filter)![i]!, list[i]);
      },
      { deadline: now() + 300_000, label, maxFailures: clients.length },
    );
    if (outcome.failed > 0) result.notes.push(`${label}: ${outcome.failed} catch-up syncs failed (${outcome.errors[0] ?? ''}).`);
  };
  const originOf = (name: string) => origins.find((each) => each.name === name)!;
  const receiversOf = (room: number) => rooms[room]!.receivers;

  // 1. Long-poll phases: every origin at once (paired), one phase per round and filter.
  const phases = hopPairedPhases(o.hopRounds);
  const phaseDetails: Record<string, unknown>[] = [];
  const pooled = new Map<string, { fromSend: number[]; fromAck: number[]; missing: number; expected: number }>();
  const pairedPooled = new Map<HopFilter, number[]>();
  for (const phase of phases) {
    log(
      `── hop phase ${phase.index + 1}/${phases.length}: ${FILTER_LABEL[phase.filter]}, /sync at ${origins.map((each) => each.url).join(' and ')} at once, round ${phase.round + 1}`,
    );
    for (const origin of origins)
      await catchUpAll(origin, phase.filter, `hop phase ${phase.index + 1}: up-to-date tokens (${origin.name})`);
    const outcome = await longPollPhase(ctx, phase, origins, {
      rooms,
      clients,
      since: new Map(origins.map((origin) => [origin.name, tokensOf(origin.name, phase.filter)])),
      filters: filterIds.get(phase.filter)!,
      receiversOf,
    });
    phaseDetails.push(outcome.summary);
    for (const origin of origins) {
      const figures = outcome.byOrigin.get(origin.name)!;
      const key = `${phase.filter}|${origin.name}`;
      const pool = pooled.get(key) ?? { fromSend: [], fromAck: [], missing: 0, expected: 0 };
      pool.fromSend.push(...figures.fromSend);
      pool.fromAck.push(...figures.fromAck);
      pool.missing += figures.missing;
      pool.expected += figures.expected;
      pooled.set(key, pool);
    }
    const via = outcome.byOrigin.get('via');
    const direct = outcome.byOrigin.get('direct');
    if (via && direct)
      pairedPooled.set(phase.filter, [...(pairedPooled.get(phase.filter) ?? []), ...pairedDifferences(via.first, direct.first)]);
  }

  // 2. Idle phases: timeout=0 with up-to-date tokens, nothing happening.
  const idlePhases = hopPhases(
    o.hopRounds,
    origins.map((each) => each.name),
  );
  const idleDetails: Record<string, unknown>[] = [];
  const idlePooled = new Map<string, number[]>();
  if (o.hopIdleDurationS > 0)
    for (const phase of idlePhases) {
      const origin = originOf(phase.origin);
      log(`── hop idle ${phase.index + 1}/${idlePhases.length}: /sync ${phase.origin} (${origin.url}), ${FILTER_LABEL[phase.filter]}`);
      await catchUpAll(origin, phase.filter, `hop idle ${phase.index + 1}: up-to-date tokens`);
      const list = tokensOf(phase.origin, phase.filter);
      const filters = filterIds.get(phase.filter)!;
      let turn = 0;
      let changed = 0;
      const cpu = new CpuMeter(ctx.processes);
      await cpu.start();
      const load = await closedLoop({
        concurrency: o.hopIdleConcurrency,
        durationMs: o.hopIdleDurationS * 1000,
        maxCount: Math.ceil(o.hopIdleDurationS * 100_000),
        label: `hop idle (${phase.origin}, ${phase.filter})`,
        op: async () => {
          const i = turn % clients.length;
          turn += 1;
          const response = await origin.matrix.sync(users[clients[i]!]!.token, { filter: filters[i]!, since: list[i], timeout: 0 });
          if (response.status === 200) {
            const next = String(response.body['next_batch']);
            if (next !== list[i]) {
              changed += 1;
              list[i] = next;
            }
          }
          return { ok: response.status === 200, status: response.status, ms: response.ms, rateLimited: response.rateLimited };
        },
      });
      const cpuStats = await cpu.stop();
      const key = `${phase.filter}|${phase.origin}`;
      idlePooled.set(key, [...(idlePooled.get(key) ?? []), ...load.latencies]);
      idleDetails.push({
        phase: phase.index,
        round: phase.round,
        origin: phase.origin,
        filter: phase.filter,
        ok: load.ok,
        failed: load.failed,
        statuses: load.statuses,
        errors: load.errors.slice(0, 3),
        requestsPerSecond: Math.round(load.perSecond * 10) / 10,
        latencyMs: roundSummary(summarize(load.latencies)),
        responsesWithChanges: changed,
        cpu: cpuStats,
      });
      if (changed > 0)
        result.notes.push(`Idle phase ${phase.index + 1} (${phase.origin}, ${phase.filter}): ${changed} responses moved the token.`);
    }

  // 3. Figures: per filter and origin, pooled over the rounds; the hop = via − direct.
  const variants: Record<string, unknown> = {};
  const series: { name: string; points: { x: number; y: number }[] }[] = [];
  for (const filter of ['plain', 'profile'] as const) {
    for (const origin of origins) {
      const key = `${filter}|${origin.name}`;
      const pool = pooled.get(key);
      const idle = idlePooled.get(key) ?? [];
      if (!pool) continue;
      const delivery = roundSummary(summarize(pool.fromSend));
      const idleSummary = roundSummary(summarize(idle));
      variants[`${filter}.${origin.name}`] = {
        url: origin.url,
        deliveryFromSendMs: delivery,
        deliveryFromAckMs: roundSummary(summarize(pool.fromAck)),
        expected: pool.expected,
        missing: pool.missing,
        idleLatencyMs: idleSummary,
      };
      series.push({ name: `${origin.name} ${filter}`, points: cdfPoints(sortedCopy(pool.fromSend), 300) });
      const where = origin.name === 'via' ? "/sync at the run's origin" : '/sync straight at --hop-direct-url';
      const metric = (id: string, label: string, value: number | null, unit = 'ms'): Metric => ({
        id: `hop.${filter}.${origin.name}.${id}`,
        scenario: 'hop',
        label: `hop, ${FILTER_LABEL[filter]}, ${where}: ${label}`,
        value,
        unit,
        better: 'lower',
      });
      result.metrics.push(
        metric('delivery.p50', 'send → delivery p50', delivery.p50),
        metric('delivery.p99', 'send → delivery p99', delivery.p99),
        metric('missing', 'messages not delivered', pool.missing, 'pairs'),
      );
      if (idle.length)
        result.metrics.push(
          metric('idle.p50', 'idle /sync?timeout=0 p50', idleSummary.p50),
          metric('idle.p99', 'idle /sync?timeout=0 p99', idleSummary.p99),
        );
    }
    const via = pooled.get(`${filter}|via`);
    const direct = pooled.get(`${filter}|direct`);
    if (via && direct) {
      const paired = roundSummary(summarize(pairedPooled.get(filter) ?? []));
      const delivery = { p50: paired.p50, p99: paired.p99 };
      const idle = addedLatency(p50p99(idlePooled.get(`${filter}|via`) ?? []), p50p99(idlePooled.get(`${filter}|direct`) ?? []));
      variants[`${filter}.added`] = {
        deliveryPairedMs: paired,
        deliveryPercentileDifferenceMs: addedLatency(p50p99(via.fromSend), p50p99(direct.fromSend)),
        idlePercentileDifferenceMs: idle,
      };
      const metric = (id: string, label: string, value: number | null): Metric => ({
        id: `hop.${filter}.added.${id}`,
        scenario: 'hop',
        label: `hop, ${FILTER_LABEL[filter]}: latency the hop adds (via − direct), ${label}`,
        value,
        unit: 'ms',
        better: 'lower',
      });
      result.metrics.push(
        metric('delivery.p50', 'same message and receiver, p50 of the differences', delivery.p50),
        metric('delivery.p99', 'same message and receiver, p99 of the differences', delivery.p99),
        metric('idle.p50', 'idle /sync p50', idle.p50),
        metric('idle.p99', 'idle /sync p99', idle.p99),
      );
    }
  }
  Object.assign(result.details, {
    rooms: rooms.length,
    clients: clients.length,
    receiversPerMessage: roundSummary(summarize(rooms.map((room) => room.receivers.length))),
    variants,
    phases: phaseDetails,
    idlePhases: idleDetails,
  });
  result.notes.push(
    'Sends always go to the base URL. In each long-poll phase every receiver long-polls every origin at once (one loop per origin), so each message reaches a receiver through each origin at the same moment and under the same load; the added delivery latency is the distribution of (via − direct) per message and receiver (paired). Percentiles pool the phases of each origin and filter; the idle figures come from separate phases (origin order alternating by round), and their added latency is a difference of percentiles.',
    'Synapse answers a repeated identical /sync (same user, token, filter, timeout) from its response cache (caches.sync_response_cache_duration): the idle figures of both origins are mostly such answers, so their difference is the cost of the hop itself.',
  );
  if (series.length)
    result.plots.push(
      await ctx.writePlot(
        'hop-delivery-cdf.svg',
        'Hop: send → delivery latency CDF per origin and filter',
        lineChart({
          title: 'Hop: message send → /sync delivery (CDF)',
          xLabel: 'latency (ms)',
          yLabel: 'fraction ≤ x',
          series,
          yMin: 0,
          yMax: 1,
        }),
      ),
    );
  return result;
}

interface PhaseInput {
  readonly rooms: readonly { readonly roomId: string; readonly sender: number; readonly receivers: readonly number[] }[];
  readonly clients: readonly number[];
  /** Per origin, per client (position in `clients`): the since token, updated as the phase goes. */
  readonly since: ReadonlyMap<string, (string | undefined)[]>;
  readonly filters: readonly string[];
  readonly receiversOf: (room: number) => readonly number[];
}

async function longPollPhase(
  ctx: ScenarioContext,
  phase: { index: number; round: number; filter: HopFilter },
  origins: readonly Origin[],
  input: PhaseInput,
): Promise<{ summary: Record<string, unknown>; byOrigin: Map<string, HopLatencies> }> {
  const o = ctx.options;
  const users = (await ctx.social()).users;
  const { rooms, clients } = input;
  const sends = new Map<number, HopSend>();
  interface OriginState {
    readonly deliveries: HopDelivery[];
    limited: number;
    syncs: number;
    errors: number;
    readonly lastErrors: Set<string>;
    readonly parked: boolean[];
  }
  const state = new Map<string, OriginState>(
    origins.map((origin) => [
      origin.name,
      { deliveries: [], limited: 0, syncs: 0, errors: 0, lastErrors: new Set(), parked: new Array<boolean>(clients.length).fill(false) },
    ]),
  );
  const stop = new AbortController();
  const stopped = () => stop.signal.aborted;
  const totalSends = Math.max(1, Math.round(o.hopRate * o.hopDurationS));
  const hardEnd = now() + (o.hopDurationS + o.hopSettleS + 60) * 1000;

  const loop = async (origin: Origin, i: number) => {
    const user = users[clients[i]!]!;
    const own = state.get(origin.name)!;
    const since = input.since.get(origin.name)!;
    while (!stopped() && now() < hardEnd) {
      try {
        own.parked[i] = true;
        const response = await origin.matrix.sync(
          user.token,
          { filter: input.filters[i]!, since: since[i], timeout: o.hopLongPollMs },
          { signal: stop.signal },
        );
        if (stopped()) return;
        own.syncs += 1;
        if (response.status !== 200) {
          own.errors += 1;
          if (own.lastErrors.size < 5) own.lastErrors.add(`HTTP ${response.status}`);
          await sleep(200, stop.signal);
          continue;
        }
        const found = timelineMessages(response.body, ctx.runTag, phase.index);
        own.limited += found.limited;
        for (const message of found.messages)
          if (message.sender !== user.userId) own.deliveries.push({ seq: message.seq, receiver: clients[i]!, at: response.at });
        const next = response.body['next_batch'];
        if (typeof next === 'string') since[i] = next;
      } catch (error) {
        if (stopped()) return;
        own.errors += 1;
        if (own.lastErrors.size < 5) own.lastErrors.add(error instanceof Error ? error.message : String(error));
        await sleep(200, stop.signal);
      }
    }
  };
  const loops = origins.flatMap((origin) => clients.map((_, i) => loop(origin, i)));
  const parkedBy = now() + 30_000;
  while ([...state.values()].some((each) => each.parked.some((parked) => !parked)) && now() < parkedBy) await sleep(50);
  await sleep(1000); // the requests reach the servers and park

  const lag = new LoopLag();
  const cpu = new CpuMeter(ctx.processes);
  await cpu.start();
  lag.start();
  const sendLatencies: number[] = [];
  let sendFailed = 0;
  let skipped = 0;
  const inFlight = new Set<Promise<void>>();
  const send = (seq: number) => {
    if (inFlight.size >= 256) {
      skipped += 1;
      return;
    }
    const room = seq % rooms.length;
    const sender = users[rooms[room]!.sender]!;
    const sentAt = now();
    sends.set(seq, { room, sentAt, ackAt: undefined });
    const task = (async () => {
      try {
        const response = await ctx.matrix.sendMessage(
          sender.token,
          rooms[room]!.roomId,
          `${ctx.runTag}-h${phase.index}-${seq}`,
          hopMessageBody(ctx.runTag, phase.index, seq),
        );
        if (response.status === 200) {
          sends.set(seq, { room, sentAt, ackAt: response.at });
          sendLatencies.push(response.at - sentAt);
        } else sendFailed += 1;
      } catch {
        sendFailed += 1;
      }
    })();
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };
  const startedAt = now();
  const interval = 1000 / o.hopRate;
  const stopProgress = every(2000, () => {
    const elapsed = ((now() - startedAt) / 1000).toFixed(1);
    const perOrigin = [...state].map(
      ([name, each]) => `${name} ${each.deliveries.length} deliveries/${each.syncs} syncs/${each.errors} errors`,
    );
    return `hop phase ${phase.index + 1} ${elapsed} s: ${sends.size}/${totalSends} sent; ${perOrigin.join('; ')}`;
  });
  let issued = 0;
  while (issued < totalSends && now() < hardEnd) {
    const due = Math.min(totalSends, Math.floor((now() - startedAt) / interval) + 1);
    while (issued < due) {
      send(issued);
      issued += 1;
    }
    await sleep(Math.max(1, startedAt + issued * interval - now()));
  }
  const sendingMs = now() - startedAt;
  await Promise.race([Promise.all([...inFlight]), sleep(Math.max(0, hardEnd - now()))]);
  const figuresOf = () =>
    new Map(origins.map((origin) => [origin.name, hopLatencies(sends, state.get(origin.name)!.deliveries, input.receiversOf)]));
  const settleEnd = now() + o.hopSettleS * 1000;
  let figures = figuresOf();
  while ([...figures.values()].some((each) => each.missing > 0) && now() < settleEnd) {
    await sleep(250);
    figures = figuresOf();
  }
  stopProgress();
  const lagStats = lag.stop();
  const cpuStats = await cpu.stop();
  stop.abort();
  await Promise.race([Promise.all(loops), sleep(10_000)]);
  figures = figuresOf();

  const perOrigin: Record<string, unknown> = {};
  for (const origin of origins) {
    const own = state.get(origin.name)!;
    const each = figures.get(origin.name)!;
    const delivery = roundSummary(summarize(each.fromSend));
    perOrigin[origin.name] = {
      url: origin.url,
      deliveryFromSendMs: delivery,
      deliveryFromAckMs: roundSummary(summarize(each.fromAck)),
      expected: each.expected,
      delivered: each.delivered,
      missing: each.missing,
      duplicates: each.duplicates,
      unexpected: each.unexpected,
      limitedTimelines: own.limited,
      syncResponses: own.syncs,
      clientErrors: own.errors,
      ...(own.errors > 0 ? { errorHint: connectionHint([...own.lastErrors], origin.url) } : {}),
    };
    log(
      `hop phase ${phase.index + 1} (${phase.filter}) ${origin.name}: p50 ${String(delivery.p50)} ms, p99 ${String(delivery.p99)} ms, ${each.missing} missing of ${each.expected}`,
    );
  }
  const via = figures.get('via');
  const direct = figures.get('direct');
  const paired = via && direct ? roundSummary(summarize(pairedDifferences(via.first, direct.first))) : null;
  if (paired)
    log(
      `hop phase ${phase.index + 1} (${phase.filter}) via − direct, same message: p50 ${String(paired.p50)} ms, p99 ${String(paired.p99)} ms`,
    );
  const summary: Record<string, unknown> = {
    phase: phase.index,
    round: phase.round,
    filter: phase.filter,
    sends: {
      scheduled: totalSends,
      acked: [...sends.values()].filter((each) => each.ackAt !== undefined).length,
      failed: sendFailed,
      skipped,
    },
    sendingSeconds: Math.round(sendingMs) / 1000,
    sendLatencyMs: roundSummary(summarize(sendLatencies)),
    origins: perOrigin,
    addedPairedMs: paired,
    harnessEventLoopLag: lagStats,
    cpu: cpuStats,
  };
  return { summary, byOrigin: figures };
}
