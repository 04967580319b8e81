import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultPids } from './default-pids.js';
import { HttpClient } from './http-client.js';
import { HttpStats } from './http-stats.js';
import { MatrixClient } from './matrix-client.js';
import { type Options, type ScenarioName } from './options.js';
import { log } from './progress.js';
import { machineInfo, resolvePids } from './proc.js';
import { reportMarkdown } from './report/markdown.js';
import { type Plot, type Report, type ScenarioResult } from './report/model.js';
import { type ScenarioContext } from './scenarios/context.js';
import { runFanOut } from './scenarios/fan-out.js';
import { runHop } from './scenarios/hop.js';
import { runHostile } from './scenarios/hostile.js';
import { runIdleSync } from './scenarios/idle-sync.js';
import { runInitialSync } from './scenarios/initial-sync.js';
import { runMemory } from './scenarios/memory.js';
import { runReplay } from './scenarios/replay.js';
import { runScaleOut } from './scenarios/scale-out.js';
import { runWrites } from './scenarios/writes.js';
import { type BenchUser, crowdSetup, type CrowdSetup, socialSetup, type SocialSetup } from './seed-setup.js';
import { metricsOf } from './compare.js';
import { evaluateTargets } from './targets.js';
import { now } from './time.js';

const RUNNERS: Record<ScenarioName, (ctx: ScenarioContext) => Promise<ScenarioResult>> = {
  fanout: runFanOut,
  hop: runHop,
  writes: runWrites,
  idle: runIdleSync,
  memory: runMemory,
  initial: runInitialSync,
  replay: runReplay,
  scaleout: runScaleOut,
  hostile: runHostile,
};

function stamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

export async function runBenchmark(options: Options): Promise<string> {
  const startedAt = new Date();
  const started = now();
  const dir = path.resolve(options.outDir, `${stamp(startedAt)}-${options.target}${options.quick ? '-quick' : ''}`);
  await mkdir(dir, { recursive: true });
  log(
    `target ${options.target} at ${options.baseUrl}; scenarios ${options.scenarios.join(', ')}; report in ${path.relative(process.cwd(), dir)}`,
  );

  const stats = new HttpStats();
  const http = new HttpClient(options.baseUrl);
  const syncHttp = options.syncBaseUrl === options.baseUrl ? http : new HttpClient(options.syncBaseUrl);
  const matrix = new MatrixClient(http, syncHttp, stats);
  const versions = await matrix.call('GET', '/_matrix/client/versions');
  if (versions.status !== 200) log(`warning: ${options.baseUrl}/_matrix/client/versions answered ${versions.status}`);
  const pids = defaultPids(options, process.env);
  const processes = await resolvePids(pids);
  for (const ref of processes)
    if (ref.pid === undefined) log(`no running process in ${ref.pidFile} (${ref.name}): RSS/CPU not measured for it`);

  const setupCtx = {
    matrix,
    baseUrl: options.baseUrl,
    seed: options.seed,
    stateDir: options.stateDir,
    fresh: options.fresh,
    concurrency: options.setupConcurrency,
    deadline: now() + options.setupTimeoutS * 1000,
  };
  let social: Promise<SocialSetup> | undefined;
  let crowd: Promise<CrowdSetup> | undefined;
  const filters = new Map<string, Promise<string>>();
  const plots: Plot[] = [];
  const extraSyncHttp = new Map<string, HttpClient>();
  const ctx: ScenarioContext = {
    options,
    matrix,
    runTag: randomBytes(4).toString('hex'),
    processes,
    social: () =>
      (social ??= socialSetup(setupCtx, { users: options.users, roomSize: options.roomSize, roomsPerUser: options.roomsPerUser })),
    crowd: () => (crowd ??= crowdSetup(setupCtx, { sizes: options.initialSizes, field: options.field })),
    filterId: (user: BenchUser, fields: readonly string[], extra: Record<string, unknown> = {}) => {
      const key = `${user.userId}|${JSON.stringify(fields)}|${JSON.stringify(extra)}`;
      let id = filters.get(key);
      if (!id) {
        id = matrix.uploadFilter(user.token, user.userId, { ...extra, 'org.matrix.msc4429.profile_fields': { ids: [...fields] } });
        filters.set(key, id);
      }
      return id;
    },
    matrixWithSync: (syncBaseUrl: string) => {
      if (syncBaseUrl === options.syncBaseUrl) return matrix;
      let client = syncBaseUrl === options.baseUrl ? http : extraSyncHttp.get(syncBaseUrl);
      if (!client) {
        client = new HttpClient(syncBaseUrl);
        extraSyncHttp.set(syncBaseUrl, client);
      }
      return new MatrixClient(http, client, stats);
    },
    writePlot: async (file, title, svg) => {
      await writeFile(path.join(dir, file), svg);
      const plot = { file, title };
      plots.push(plot);
      return plot;
    },
  };

  const report: Report = {
    schema: 'mx-bench/1',
    target: options.target,
    baseUrl: options.baseUrl,
    syncBaseUrl: options.syncBaseUrl,
    quick: options.quick,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationS: 0,
    machine: machineInfo(),
    parameters: { ...options, pids: Object.fromEntries(pids), pgUrl: options.pgUrl?.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@') },
    setup: {},
    http: {},
    scenarios: [],
    targets: [],
  };
  const save = async () => {
    report.finishedAt = new Date().toISOString();
    report.durationS = Math.round(now() - started) / 1000;
    report.http = stats.snapshot();
    const describe = async <T extends { namespace: string; seconds: number; reused: boolean }>(
      setup: Promise<T> | undefined,
      extra: (s: T) => object,
    ) => {
      if (!setup) return undefined;
      try {
        const value = await setup;
        return { namespace: value.namespace, seconds: value.seconds, reused: value.reused, ...extra(value) };
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      }
    };
    report.setup = {
      social: await describe(social, (s) => ({ users: s.users.length, rooms: s.rooms.length })),
      crowd: await describe(crowd, (c) => ({ members: c.members.length, bigRooms: c.observers.map((o) => o.size) })),
    };
    report.targets = evaluateTargets(metricsOf(report), options);
    await writeFile(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(path.join(dir, 'report.md'), reportMarkdown(report));
  };

  for (const name of options.scenarios) {
    log(`── scenario ${name} ──`);
    const scenarioStarted = now();
    let result: ScenarioResult;
    try {
      result = await RUNNERS[name](ctx);
    } catch (error) {
      result = {
        name,
        title: name,
        status: 'failed',
        notes: [],
        error: error instanceof Error ? error.message : String(error),
        durationS: 0,
        parameters: {},
        details: {},
        metrics: [],
        plots: [],
      };
      log(`scenario ${name} failed: ${result.error ?? ''}`);
    }
    result.durationS = Math.round(now() - scenarioStarted) / 1000;
    report.scenarios.push(result);
    for (const metric of result.metrics) log(`  ${metric.label}: ${metric.value ?? '—'} ${metric.unit}`);
    for (const note of result.notes) log(`  note: ${note}`);
    await save();
  }
  await save();
  http.close();
  if (syncHttp !== http) syncHttp.close();
  for (const client of extraSyncHttp.values()) client.close();
  return dir;
}
