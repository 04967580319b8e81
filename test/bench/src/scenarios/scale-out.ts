import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type MatrixClient } from '../matrix-client.js';
import { log } from '../progress.js';
import { projectEnv } from '../project-env.js';
import { type LagReading, ProjectionLag } from '../projection-lag.js';
import { peak, recoveryAfter, type TimedValue } from '../recovery.js';
import { type ScenarioResult } from '../report/model.js';
import { lineChart } from '../report/svg-plot.js';
import { type BenchUser } from '../seed-setup.js';
import { now, seconds, sleep } from '../time.js';
import { newResult, type ScenarioContext } from './context.js';
import { writeLoad } from './writes.js';

const run = promisify(execFile);
const PROJECTOR = 'dist/apps/projector/src/main.js';
const STACK_PROJECTOR_PORT = 8103;
const EXTRA_PROJECTOR_PORTS = [8113, 8114];

interface WriteOutcome {
  readonly t: number;
  readonly ok: boolean;
  readonly status: number;
}

/**
 * This project only (issue 6's numbers): events projected per second with one projector and
 * with three sharing the partitions, then the projection's lag and recovery while a projector is
 * SIGKILLed and while the broker is stopped and started, under a steady write rate. Spawns two
 * extra projector processes of the local stack (ports 8113, 8114) and restarts the local broker
 * (deploy/local/kafka.sh): run it against the local stack only.
 */
export async function runScaleOut(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const phaseS = o.quick ? 8 : 20;
  const rate = o.quick ? 50 : 200;
  const result = newResult('scaleout', 'Scale-out and failures: projector throughput per replica, lag and recovery', {
    throughputPhaseSeconds: phaseS,
    steadyWriteRate: rate,
    writeConcurrency: o.writesConcurrency,
    extraProjectors: EXTRA_PROJECTOR_PORTS.length,
    projectorKilledAfterSeconds: 10,
    brokerDownSeconds: 5,
  });
  if (o.target !== 'project') {
    result.status = 'not-applicable';
    result.notes.push(
      o.target === 'companion'
        ? "Not applicable to target companion: it starts extra projectors with the standalone stack's environment (deploy/local/local.env) and stops the broker through deploy/local/kafka.sh with the default ports, neither of which is companion.sh's stack."
        : `Not applicable to target ${o.target}: it starts and kills this project's own processes.`,
    );
    return result;
  }
  const env = await projectEnv(o.projectRoot);
  const users = (await ctx.social()).users;
  const lag = await ProjectionLag.connect(env);
  const started = now();
  const lagSamples: (TimedValue & { projected: number | null })[] = [];
  const sampling = new AbortController();
  const sampler = (async () => {
    while (!sampling.signal.aborted) {
      const reading: LagReading | undefined = await lag.read();
      lagSamples.push({ t: now() - started, value: reading?.lag ?? null, projected: reading?.projected ?? null });
      await sleep(250);
    }
  })();
  const extras: ChildProcess[] = [];
  const marks: { t: number; what: string }[] = [];
  const mark = (what: string) => {
    marks.push({ t: now() - started, what });
    log(`scale-out: ${what}`);
  };
  try {
    // 1. One projector (the stack's) under a closed-loop write load.
    mark('throughput with one projector');
    const one = await throughput(ctx.matrix, users, [STACK_PROJECTOR_PORT], {
      ...o,
      phaseS,
      label: 'writes (1 projector)',
      prefix: `${ctx.runTag}-s1:`,
    });

    // 2. Two more projectors join the group; the same load.
    for (const port of EXTRA_PROJECTOR_PORTS) extras.push(startProjector(o.projectRoot, env, port));
    await Promise.all(EXTRA_PROJECTOR_PORTS.map((port) => waitReady(port, 60_000)));
    await sleep(3000); // the group's rebalance settles
    mark('throughput with three projectors');
    const three = await throughput(ctx.matrix, users, [STACK_PROJECTOR_PORT, ...EXTRA_PROJECTOR_PORTS], {
      ...o,
      phaseS,
      label: 'writes (3 projectors)',
      prefix: `${ctx.runTag}-s3:`,
    });

    // 3. Steady writes; SIGKILL one projector after 10 s; watch the lag come back.
    mark('projector kill phase');
    const killPhase = now() - started;
    let killAt = 0;
    const killWrites: WriteOutcome[] = [];
    await Promise.all([
      steadyWrites(ctx.matrix, users, rate, o.quick ? 30_000 : 40_000, o.field, `${ctx.runTag}-k:`, started, killWrites),
      (async () => {
        await sleep(10_000);
        killAt = now() - started;
        extras[1]?.kill('SIGKILL');
        mark('projector on :8114 SIGKILLed');
      })(),
    ]);
    const killBaseline = peak(lagSamples, killPhase + 2000, killAt) ?? 0;
    const killThreshold = Math.max(20, 2 * killBaseline);
    // Settled = the lag, after its peak, back at or below the threshold for 1 s (not a calm moment before it built up).
    const killRecovery = recoveryAfter(lagSamples, killAt, now() - started, killThreshold, 1000);
    const killSettled = killRecovery === null ? null : killAt + killRecovery;

    // 4. Steady writes; stop the broker after 5 s, start it 5 s later.
    mark('broker restart phase');
    const brokerWrites: WriteOutcome[] = [];
    const brokerTimes = { stopIssued: 0, stopped: 0, startIssued: 0, started: 0 };
    await Promise.all([
      steadyWrites(ctx.matrix, users, rate, o.quick ? 35_000 : 45_000, o.field, `${ctx.runTag}-b:`, started, brokerWrites),
      (async () => {
        await sleep(5000);
        brokerTimes.stopIssued = now() - started;
        await run('bash', ['deploy/local/kafka.sh', 'stop'], { cwd: o.projectRoot });
        brokerTimes.stopped = now() - started;
        mark('broker stopped');
        await sleep(5000);
        brokerTimes.startIssued = now() - started;
        await run('bash', ['deploy/local/kafka.sh', 'start'], { cwd: o.projectRoot });
        brokerTimes.started = now() - started;
        mark('broker started');
      })(),
    ]);
    const brokerBaseline = peak(lagSamples, brokerTimes.stopIssued - 4000, brokerTimes.stopIssued) ?? 0;
    const brokerThreshold = Math.max(20, 2 * brokerBaseline);
    const brokerRecovery = recoveryAfter(lagSamples, brokerTimes.stopIssued, now() - started, brokerThreshold, 1000);
    const brokerSettled = brokerRecovery === null ? null : Math.max(brokerTimes.started, brokerTimes.stopIssued + brokerRecovery);
    const failures = brokerWrites.filter((outcome) => !outcome.ok);
    const firstOkAfter = brokerWrites.filter((outcome) => outcome.ok && outcome.t >= brokerTimes.startIssued).sort((a, b) => a.t - b.t)[0];
    await sleep(2000);

    const perReplica = (rates: Record<string, number | null>) => Object.values(rates).filter((value): value is number => value !== null);
    Object.assign(result.details, {
      oneProjector: one,
      threeProjectors: three,
      projectorKill: {
        killedAtSeconds: seconds(killAt - killPhase),
        baselineLag: killBaseline,
        settleThreshold: killThreshold,
        peakLag: peak(lagSamples, killAt, killAt + 60_000),
        recoverySeconds: killSettled === null ? null : seconds(killSettled - killAt),
        writes: summarizeWrites(killWrites),
      },
      brokerRestart: {
        stopTookSeconds: seconds(brokerTimes.stopped - brokerTimes.stopIssued),
        downSeconds: seconds(brokerTimes.startIssued - brokerTimes.stopped),
        startTookSeconds: seconds(brokerTimes.started - brokerTimes.startIssued),
        baselineLag: brokerBaseline,
        settleThreshold: brokerThreshold,
        peakLag: peak(lagSamples, brokerTimes.stopIssued, brokerTimes.started + 60_000),
        writesFailedSeconds: failures.length ? seconds((failures.at(-1)?.t ?? 0) - (failures[0]?.t ?? 0)) : 0,
        firstWriteOkAfterBrokerUpSeconds: firstOkAfter ? seconds(firstOkAfter.t - brokerTimes.started) : null,
        projectionCaughtUpAfterBrokerUpSeconds: brokerSettled === null ? null : seconds(brokerSettled - brokerTimes.started),
        writes: summarizeWrites(brokerWrites),
      },
      marks: marks.map((entry) => ({ seconds: seconds(entry.t), what: entry.what })),
    });
    result.notes.push(
      'Lag = records in the topics not yet in the projection (Kafka high watermarks minus the positions the projector commits with its rows), read every 250 ms. Recovery = from the disturbance until the lag, after its peak, stays at or below max(20, twice its peak just before the disturbance) for 1 s.',
      'A SIGKILLed projector’s partitions wait for the consumer group’s session timeout (MX_PROJECTOR_SESSION_TIMEOUT_MS, 10 s by default) before another projector takes them: that bounds the recovery from below. Writes keep succeeding meanwhile (they wait up to MX_READ_YOUR_WRITES_TIMEOUT_MS for the projection, then answer).',
      'While the broker is down writes answer 503 after MX_KAFKA_ACK_TIMEOUT_MS (5 s); none is acknowledged without the broker.',
      'The load generator, the services, Kafka and PostgreSQL share the machine; the throughput phases are bounded by the writers as much as by the projectors (compare the replay scenario for the projector alone).',
    );
    result.metrics.push(
      metric('scaleout.projected_per_second_one', 'events projected/s, one projector', one.projectedPerSecond, 'events/s', 'higher'),
      metric(
        'scaleout.projected_per_second_three',
        'events projected/s, three projectors (all)',
        three.projectedPerSecond,
        'events/s',
        'higher',
      ),
      metric(
        'scaleout.projected_per_second_per_replica',
        'events projected/s per replica, three projectors (mean)',
        mean(perReplica(three.perReplicaPerSecond)),
        'events/s',
        'higher',
      ),
      metric(
        'scaleout.kill_peak_lag',
        'peak lag after a projector SIGKILL',
        (result.details['projectorKill'] as { peakLag: number | null }).peakLag,
        'events',
        'lower',
      ),
      metric(
        'scaleout.kill_recovery_seconds',
        'recovery after a projector SIGKILL',
        killSettled === null ? null : seconds(killSettled - killAt),
        's',
        'lower',
      ),
      metric(
        'scaleout.broker_first_write_seconds',
        'first acknowledged write after the broker is back',
        firstOkAfter ? seconds(firstOkAfter.t - brokerTimes.started) : null,
        's',
        'lower',
      ),
      metric(
        'scaleout.broker_recovery_seconds',
        'projection caught up after the broker is back',
        brokerSettled === null ? null : seconds(brokerSettled - brokerTimes.started),
        's',
        'lower',
      ),
    );
    if (killSettled === null || brokerSettled === null) {
      result.status = 'failed';
      result.error = 'the projection did not catch up within the phase';
    }
  } finally {
    sampling.abort();
    await sampler;
    for (const child of extras) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await lag.close();
  }
  result.plots.push(
    await ctx.writePlot(
      'scaleout-lag.svg',
      'Projection lag through the scale-out phases',
      lineChart({
        title: `Projection lag (records behind the topics); phases: ${marks.map((entry) => `${Math.round(entry.t / 1000)} s ${entry.what}`).join('; ')}`,
        xLabel: 'seconds since the scenario started',
        yLabel: 'records behind',
        series: [{ name: 'lag', points: lagSamples.filter((s) => s.value !== null).map((s) => ({ x: s.t / 1000, y: s.value ?? 0 })) }],
        yMin: 0,
      }),
    ),
  );
  return result;
}

function metric(id: string, label: string, value: number | null, unit: string, better: 'lower' | 'higher') {
  return { id, scenario: 'scaleout' as const, label, value: value === null ? null : Math.round(value * 1000) / 1000, unit, better };
}

function mean(values: readonly number[]): number | null {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : null;
}

async function throughput(
  matrix: MatrixClient,
  users: readonly BenchUser[],
  ports: readonly number[],
  options: { writesConcurrency: number; phaseS: number; field: string; label: string; prefix: string },
): Promise<{ writesPerSecond: number; projectedPerSecond: number | null; perReplicaPerSecond: Record<string, number | null> }> {
  const before = await Promise.all(ports.map(appliedTotal));
  const t0 = now();
  const load = await writeLoad(matrix, users, {
    concurrency: options.writesConcurrency,
    durationMs: options.phaseS * 1000,
    maxCount: 10_000_000,
    field: options.field,
    valuePrefix: options.prefix,
    label: options.label,
  });
  await sleep(1500); // the last batches commit
  const elapsedS = (now() - t0) / 1000;
  const after = await Promise.all(ports.map(appliedTotal));
  const perReplica: Record<string, number | null> = {};
  let total = 0;
  ports.forEach((port, i) => {
    const a = after[i];
    const b = before[i];
    const perSecond = a === undefined || b === undefined || a === null || b === null ? null : (a - b) / elapsedS;
    perReplica[`:${port}`] = perSecond === null ? null : Math.round(perSecond);
    total += perSecond ?? 0;
  });
  return {
    writesPerSecond: Math.round(load.ok / (load.durationMs / 1000)),
    projectedPerSecond: Math.round(total),
    perReplicaPerSecond: perReplica,
  };
}

/** Σ mx_projector_events_applied_total of the projector on `port`. */
async function appliedTotal(port: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    let sum = 0;
    for (const match of text.matchAll(/^mx_projector_events_applied_total\{[^}]*\} ([0-9.e+]+)$/gm)) sum += Number(match[1]);
    return sum;
  } catch {
    return null;
  }
}

function startProjector(root: string, env: Record<string, string>, port: number): ChildProcess {
  const logDir = path.join(root, '.local', 'logs');
  mkdirSync(logDir, { recursive: true });
  const out = openSync(path.join(logDir, `bench-projector-${port}.log`), 'a');
  return spawn(process.execPath, [PROJECTOR], {
    cwd: root,
    env: {
      ...process.env,
      ...env,
      MX_HTTP_PORT: String(port),
      MX_HTTP_HOST: '127.0.0.1',
      MX_LOG_LEVEL: 'warn',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    },
    stdio: ['ignore', out, out],
  });
}

async function waitReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`projector on :${port} not ready after ${timeoutMs} ms`);
}

/** Open-loop writes at a fixed rate (at most 256 in flight; beyond that a tick is skipped and counted). */
async function steadyWrites(
  matrix: MatrixClient,
  users: readonly BenchUser[],
  rate: number,
  durationMs: number,
  field: string,
  prefix: string,
  started: number,
  outcomes: WriteOutcome[],
): Promise<void> {
  const interval = 1000 / rate;
  const t0 = now();
  const inflight = new Set<Promise<void>>();
  for (let i = 0; now() - t0 < durationMs; i += 1) {
    const due = t0 + i * interval;
    if (now() < due) await sleep(due - now());
    if (inflight.size >= 256) {
      outcomes.push({ t: now() - started, ok: false, status: -1 });
      continue;
    }
    const user = users[i % users.length]!;
    const write: Promise<void> = matrix
      .putProfileField(user.token, user.userId, field, `${prefix}${i}`, AbortSignal.timeout(15_000))
      .then(
        (response) => void outcomes.push({ t: now() - started, ok: response.status === 200, status: response.status }),
        () => void outcomes.push({ t: now() - started, ok: false, status: 0 }),
      )
      .finally(() => inflight.delete(write));
    inflight.add(write);
  }
  await Promise.all(inflight);
}

function summarizeWrites(outcomes: readonly WriteOutcome[]): Record<string, number> {
  const byStatus: Record<string, number> = {};
  for (const outcome of outcomes) byStatus[String(outcome.status)] = (byStatus[String(outcome.status)] ?? 0) + 1;
  return {
    attempted: outcomes.length,
    ok: outcomes.filter((outcome) => outcome.ok).length,
    ...Object.fromEntries(Object.entries(byStatus).map(([status, count]) => [`status_${status}`, count])),
  };
}
