import { forEachBounded } from '../bounded.js';
import { log } from '../progress.js';
import { openFileLimit, rssMiB } from '../proc.js';
import { barChart } from '../report/svg-plot.js';
import { type ScenarioResult } from '../report/model.js';
import { median } from '../stats.js';
import { now, sleep } from '../time.js';
import { upToDateToken } from '../up-to-date-token.js';
import { connectionHint, newResult, type ScenarioContext } from './context.js';

const PARK_MS = 30_000;

async function sampleRss(pid: number, samples: number, gapMs: number): Promise<number | null> {
  const values: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const value = await rssMiB(pid);
    if (value !== undefined) values.push(value);
    if (i < samples - 1) await sleep(gapMs);
  }
  const result = median(values);
  return result === null ? null : Math.round(result * 10) / 10;
}

/**
 * Scenario 6: resident memory (VmRSS) of each server process before, while and after N distinct
 * users park a long-poll (`timeout=30000`, up-to-date token, so each one waits on the server).
 */
export async function runMemory(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const result = newResult('memory', 'Memory: RSS with parked long-polls', { parked: o.memoryParked, longPollMs: PARK_MS });
  const processes = ctx.processes.filter((ref) => ref.pid !== undefined);
  if (processes.length === 0) {
    result.status = 'not-applicable';
    result.notes.push('No server process found: give --pid name=pidfile (see the README).');
    return result;
  }
  const limit = await openFileLimit();
  if (limit !== undefined && limit < o.memoryParked + 200)
    result.notes.push(
      `The harness may open only ${limit} files; raise it (ulimit -n ${o.memoryParked * 2 + 200}) for ${o.memoryParked} connections.`,
    );
  const setup = await ctx.social();
  const users = setup.users.slice(0, o.memoryParked);
  const tokens = new Array<string>(users.length);
  const filters = new Array<string>(users.length);
  await forEachBounded(
    users,
    32,
    async (user, i) => {
      filters[i] = await ctx.filterId(user, [o.field]);
      tokens[i] = await upToDateToken(ctx.matrix, user.token, filters[i], 3);
    },
    { deadline: now() + o.setupTimeoutS * 1000, label: 'memory: up-to-date tokens' },
  );
  await sleep(1000);
  const before = new Map<string, number | null>();
  for (const ref of processes) before.set(ref.name, await sampleRss(ref.pid!, 5, 200));

  const stop = new AbortController();
  let answeredEarly = 0;
  let failed = 0;
  const errors: string[] = [];
  const parkedAt = now();
  const polls = users.map(async (user, i) => {
    try {
      const response = await ctx.matrix.sync(
        user.token,
        { filter: filters[i]!, since: tokens[i], timeout: PARK_MS },
        { signal: stop.signal, timeoutMs: PARK_MS + 30_000 },
      );
      if (!stop.signal.aborted) {
        if (response.status === 200) answeredEarly += 1;
        else {
          failed += 1;
          if (errors.length < 5) errors.push(`HTTP ${response.status}`);
        }
      }
    } catch (error) {
      if (!stop.signal.aborted) {
        failed += 1;
        if (errors.length < 5) errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  });
  log(`memory: ${users.length} long-polls sent; measuring RSS while they are parked`);
  await sleep(Math.min(8000, 2000 + users.length * 3));
  const parked = new Map<string, number | null>();
  for (const ref of processes) parked.set(ref.name, await sampleRss(ref.pid!, 10, 200));
  const heldMs = now() - parkedAt;
  const stillParked = users.length - answeredEarly - failed;
  stop.abort();
  await Promise.race([Promise.all(polls), sleep(10_000)]);
  await sleep(3000);
  const after = new Map<string, number | null>();
  for (const ref of processes) after.set(ref.name, await sampleRss(ref.pid!, 5, 200));

  const byProcess = processes.map((ref) => {
    const b = before.get(ref.name) ?? null;
    const p = parked.get(ref.name) ?? null;
    return {
      process: ref.name,
      pid: ref.pid,
      rssBeforeMiB: b,
      rssParkedMiB: p,
      rssAfterMiB: after.get(ref.name) ?? null,
      deltaMiB: b !== null && p !== null ? Math.round((p - b) * 10) / 10 : null,
      perParkedKiB: b !== null && p !== null && stillParked > 0 ? Math.round(((p - b) * 1024) / stillParked) : null,
    };
  });
  Object.assign(result.details, {
    errors,
    byProcess,
    sent: users.length,
    stillParkedWhenMeasured: stillParked,
    answeredEarly,
    failed,
    heldSeconds: Math.round(heldMs) / 1000,
  });
  if (answeredEarly + failed > 0)
    result.notes.push(
      `${answeredEarly} long-polls were answered early and ${failed} failed before the measurement; ${stillParked} were parked.`,
    );
  if (failed > 0) result.notes.push(connectionHint(errors, o.syncBaseUrl));
  if (users.length < 1000) result.notes.push(`Only ${users.length} users available to park long-polls (target is stated for 1,000).`);
  for (const row of byProcess)
    result.metrics.push({
      id: `memory.${row.process}.rss_parked`,
      scenario: 'memory',
      label: `RSS of ${row.process} with ${stillParked} parked long-polls`,
      value: row.rssParkedMiB,
      unit: 'MiB',
      better: 'lower',
    });
  const syncName =
    o.syncProcess ?? ['sync-api', 'synapse'].find((name) => processes.some((ref) => ref.name === name)) ?? processes[0]!.name;
  const syncRow = byProcess.find((row) => row.process === syncName);
  result.metrics.push({
    id: 'memory.sync_process.rss_parked',
    scenario: 'memory',
    label: `RSS of the /sync process (${syncName}) with parked long-polls`,
    value: syncRow?.rssParkedMiB ?? null,
    unit: 'MiB',
    better: 'lower',
  });
  result.metrics.push({
    id: 'memory.sync_process.rss_growth',
    scenario: 'memory',
    label: `RSS growth of the /sync process (${syncName}) while the long-polls were parked`,
    value: syncRow?.deltaMiB ?? null,
    unit: 'MiB',
    better: 'lower',
  });
  result.plots.push(
    await ctx.writePlot(
      'memory.svg',
      'RSS per process',
      barChart({
        title: `RSS per process: before, with ${stillParked} parked long-polls, after`,
        xLabel: 'process',
        yLabel: 'MiB',
        categories: byProcess.map((row) => row.process),
        series: [
          { name: 'before', values: byProcess.map((row) => row.rssBeforeMiB) },
          { name: 'parked', values: byProcess.map((row) => row.rssParkedMiB) },
          { name: 'after', values: byProcess.map((row) => row.rssAfterMiB) },
        ],
      }),
    ),
  );
  return result;
}
