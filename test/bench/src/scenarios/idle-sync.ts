import { forEachBounded } from '../bounded.js';
import { closedLoop } from '../closed-loop.js';
import { DbActivity, type DbCounters } from '../db-activity.js';
import { log } from '../progress.js';
import { CpuMeter } from '../proc.js';
import { profileUpdates } from '../profile-updates.js';
import { projectPgUrl } from '../project-env.js';
import { latencyPlots, throughputPlot } from '../report/charts.js';
import { type ScenarioResult } from '../report/model.js';
import { roundSummary, summarize } from '../stats.js';
import { now } from '../time.js';
import { upToDateToken } from '../up-to-date-token.js';
import { newResult, type ScenarioContext } from './context.js';

/**
 * Scenario 3: `/sync?timeout=0` with an up-to-date token and a profile filter, from many users in
 * turn, while nothing changes. For the project target, PostgreSQL's transaction counter is read
 * before and after (statistics flushed) to show whether such a sync touches the database.
 */
export async function runIdleSync(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const result = newResult('idle', 'Idle incremental sync: timeout=0 with an up-to-date token', {
    concurrency: o.idleConcurrency,
    durationS: o.idleDurationS,
    users: o.idleUsers,
    field: o.field,
  });
  const setup = await ctx.social();
  const users = setup.users.slice(0, o.idleUsers);
  const tokens = new Array<string>(users.length);
  const filters = new Array<string>(users.length);
  const deadline = now() + o.setupTimeoutS * 1000;
  // Up-to-date tokens: an initial sync, then incremental syncs until one comes back with nothing new.
  await forEachBounded(
    users,
    32,
    async (user, i) => {
      filters[i] = await ctx.filterId(user, [o.field]);
      tokens[i] = await upToDateToken(ctx.matrix, user.token, filters[i], 5);
    },
    { deadline, label: 'idle: up-to-date tokens' },
  );

  let db: DbActivity | undefined;
  let before: DbCounters | undefined;
  if (o.dbCheck && o.target === 'project') {
    try {
      db = await DbActivity.connect(o.pgUrl ?? (await projectPgUrl(o.projectRoot)));
      log('idle: waiting 11 s for PostgreSQL statistics to settle before counting');
      await DbActivity.flushDelay();
      before = await db.read();
    } catch (error) {
      result.notes.push(`Database activity not measured: ${error instanceof Error ? error.message : String(error)}`);
      db = undefined;
    }
  }

  if (o.target === 'companion')
    result.notes.push(
      'Database check not made for target companion: every idle sync is forwarded to the homeserver, which queries its own database (the same PostgreSQL cluster), so a per-database transaction count would say nothing about the project alone.',
    );

  let changed = 0;
  let bytes = 0;
  let turn = 0;
  const cpu = new CpuMeter(ctx.processes);
  await cpu.start();
  const load = await closedLoop({
    concurrency: o.idleConcurrency,
    durationMs: o.idleDurationS * 1000,
    maxCount: Math.ceil(o.idleDurationS * 100_000),
    label: 'idle sync',
    op: async () => {
      const i = turn % users.length;
      turn += 1;
      const response = await ctx.matrix.sync(users[i]!.token, { filter: filters[i]!, since: tokens[i], timeout: 0 });
      bytes += response.bytes;
      if (response.status === 200) {
        const next = String(response.body['next_batch']);
        if (next !== tokens[i] || profileUpdates(response.body).size > 0) {
          changed += 1;
          tokens[i] = next;
        }
      }
      return { ok: response.status === 200, status: response.status, ms: response.ms, rateLimited: response.rateLimited };
    },
  });
  const cpuStats = await cpu.stop();

  let database: Record<string, number> | undefined;
  if (db && before) {
    log('idle: waiting 11 s for PostgreSQL statistics to be flushed');
    await DbActivity.flushDelay();
    const after = await db.read();
    await db.close();
    const transactions = after.transactions - before.transactions;
    database = {
      transactions,
      tuplesReturned: after.tuplesReturned - before.tuplesReturned,
      tuplesFetched: after.tuplesFetched - before.tuplesFetched,
      transactionsPerRequest: Math.round((transactions / Math.max(1, load.ok)) * 10000) / 10000,
      windowSeconds: Math.round(load.durationMs / 1000 + 11),
    };
    result.notes.push(
      `PostgreSQL counted ${transactions} transactions (all clients of the database, the harness's own 2 readings included) over ${load.ok} idle syncs and an ${database['windowSeconds']} s window.`,
    );
  }

  const latency = roundSummary(summarize(load.latencies));
  const perSecond = Math.round(load.perSecond * 10) / 10;
  Object.assign(result.details, {
    ok: load.ok,
    failed: load.failed,
    statuses: load.statuses,
    rateLimited: load.rateLimited,
    errors: load.errors,
    seconds: Math.round(load.durationMs) / 1000,
    requestsPerSecond: perSecond,
    latencyMs: latency,
    responsesWithChanges: changed,
    bytesPerResponse: load.ok + load.failed > 0 ? Math.round(bytes / (load.ok + load.failed)) : null,
    database: database ?? null,
    cpu: cpuStats,
  });
  if (changed > 0) result.notes.push(`${changed} responses carried changes (the server was not idle, or tokens were not up to date).`);
  result.metrics.push(
    { id: 'idle.per_second', scenario: 'idle', label: 'idle incremental syncs per second', value: perSecond, unit: '/s', better: 'higher' },
    { id: 'idle.latency.p50', scenario: 'idle', label: 'idle sync latency p50', value: latency.p50, unit: 'ms', better: 'lower' },
    { id: 'idle.latency.p99', scenario: 'idle', label: 'idle sync latency p99', value: latency.p99, unit: 'ms', better: 'lower' },
  );
  if (database)
    result.metrics.push({
      id: 'idle.db_transactions_per_request',
      scenario: 'idle',
      label: 'database transactions per idle sync',
      value: database['transactionsPerRequest']!,
      unit: 'tx',
      better: 'lower',
    });
  result.plots.push(...(await latencyPlots(ctx.writePlot, 'idle', 'Idle incremental sync', load.latencies)));
  result.plots.push(
    await throughputPlot(ctx.writePlot, 'idle-throughput.svg', 'Idle sync: responses per second', load.startedAt, load.durationMs, {
      '/sync 200': load.completions,
    }),
  );
  return result;
}
