import { type Attempt, closedLoop, type ClosedLoopResult } from '../closed-loop.js';
import { type MatrixClient } from '../matrix-client.js';
import { CpuMeter } from '../proc.js';
import { latencyPlots, throughputPlot } from '../report/charts.js';
import { type ScenarioResult } from '../report/model.js';
import { type BenchUser } from '../seed-setup.js';
import { roundSummary, summarize } from '../stats.js';
import { newResult, type ScenarioContext } from './context.js';

/**
 * Concurrent profile PUTs: worker w writes for users w, w + C, w + 2C, ... in turn, so no two writes
 * of one user are in flight together (per-user rate limits see at most C / U of the load each).
 */
export function writeLoad(
  matrix: MatrixClient,
  users: readonly BenchUser[],
  options: { concurrency: number; durationMs: number; maxCount: number; field: string; valuePrefix: string; label: string },
): Promise<ClosedLoopResult> {
  const concurrency = Math.min(options.concurrency, users.length);
  const turn = new Array<number>(concurrency).fill(0);
  return closedLoop({
    concurrency,
    durationMs: options.durationMs,
    maxCount: options.maxCount,
    label: options.label,
    op: async (worker, seq): Promise<Attempt> => {
      const mine = Math.ceil((users.length - worker) / concurrency);
      const user = users[worker + (turn[worker]! % mine) * concurrency]!;
      turn[worker] = turn[worker]! + 1;
      const response = await matrix.putProfileField(user.token, user.userId, options.field, `${options.valuePrefix}${seq}`);
      return { ok: response.status === 200, status: response.status, ms: response.ms, rateLimited: response.rateLimited };
    },
  });
}

/** Scenario 2: concurrent PUTs of a profile field; requests per second and latency percentiles. */
export async function runWrites(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const result = newResult('writes', 'Writes: concurrent profile PUTs', {
    concurrency: o.writesConcurrency,
    durationS: o.writesDurationS,
    maxWrites: o.writesMax,
    users: o.users,
    field: o.field,
  });
  const setup = await ctx.social();
  const cpu = new CpuMeter(ctx.processes);
  await cpu.start();
  const load = await writeLoad(ctx.matrix, setup.users, {
    concurrency: o.writesConcurrency,
    durationMs: o.writesDurationS * 1000,
    maxCount: o.writesMax,
    field: o.field,
    valuePrefix: `${ctx.runTag}-w:`,
    label: 'writes',
  });
  const latency = roundSummary(summarize(load.latencies));
  const perSecond = Math.round(load.perSecond * 10) / 10;
  Object.assign(result.details, {
    ok: load.ok,
    failed: load.failed,
    statuses: load.statuses,
    rateLimited: load.rateLimited,
    errors: load.errors,
    seconds: Math.round(load.durationMs) / 1000,
    writesPerSecond: perSecond,
    latencyMs: latency,
    cpu: await cpu.stop(),
  });
  if (load.failed > 0) result.notes.push(`${load.failed} writes failed (statuses ${JSON.stringify(load.statuses)}).`);
  if (load.rateLimited > 0)
    result.notes.push(`${load.rateLimited} answers were 429 (backed off and retried; the retry's latency is counted).`);
  result.metrics.push(
    { id: 'writes.per_second', scenario: 'writes', label: 'writes per second (200 OK)', value: perSecond, unit: '/s', better: 'higher' },
    { id: 'writes.latency.p50', scenario: 'writes', label: 'write latency p50', value: latency.p50, unit: 'ms', better: 'lower' },
    { id: 'writes.latency.p99', scenario: 'writes', label: 'write latency p99', value: latency.p99, unit: 'ms', better: 'lower' },
  );
  result.plots.push(...(await latencyPlots(ctx.writePlot, 'writes', 'Profile PUT', load.latencies)));
  result.plots.push(
    await throughputPlot(ctx.writePlot, 'writes-throughput.svg', 'Writes: PUTs answered 200 per second', load.startedAt, load.durationMs, {
      'PUT 200': load.completions,
    }),
  );
  return result;
}
