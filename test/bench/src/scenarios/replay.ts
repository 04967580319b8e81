import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { log } from '../progress.js';
import { projectEnv } from '../project-env.js';
import { parseReplayLine, replayRates, type ReplaySample } from '../replay-progress.js';
import { lineChart } from '../report/svg-plot.js';
import { type ScenarioResult } from '../report/model.js';
import { now } from '../time.js';
import { newResult, type ScenarioContext } from './context.js';
import { writeLoad } from './writes.js';

const CLI = 'dist/apps/projector/src/replay/main.js';

/**
 * Scenario 5 (this project only): rebuild the projection from the topics with the project's replay
 * CLI (`verify`: replay into a fresh schema, then compare with the live one), reading its progress
 * lines. Optionally tops the topics up with profile writes first so the replay has enough to chew.
 */
export async function runReplay(ctx: ScenarioContext): Promise<ScenarioResult> {
  const o = ctx.options;
  const result = newResult('replay', 'Projector replay: rebuilding the projection from the topics', {
    topUpWrites: o.replayTopUp,
    timeoutS: o.replayTimeoutS,
    command: `node ${CLI} verify`,
  });
  const cli = path.resolve(o.projectRoot, CLI);
  if (o.target !== 'project') {
    result.status = 'not-applicable';
    result.notes.push(
      o.target === 'companion'
        ? "Not applicable to target companion: the replay command runs with the standalone stack's environment (deploy/local/local.env: database matrix, topics mx.*), not companion.sh's (matrix_companion, mxc.*), and companion mode's projection also holds what the homeserver's feed and the bootstrap appended; verify companion mode with `companion-verify` instead."
        : `Not applicable to target ${o.target}: the replay is this project's own command (topics → projection).`,
    );
    return result;
  }
  if (!existsSync(cli)) {
    result.status = 'failed';
    result.error = `${cli} not found: run npm run build (or give --project-root)`;
    return result;
  }
  if (o.replayTopUp > 0) {
    const setup = await ctx.social();
    const load = await writeLoad(ctx.matrix, setup.users, {
      concurrency: o.writesConcurrency,
      durationMs: Math.min(o.replayTimeoutS, 120, Math.max(10, o.replayTopUp / 100)) * 1000,
      maxCount: o.replayTopUp,
      field: o.field,
      valuePrefix: `${ctx.runTag}-r:`,
      label: 'replay top-up writes',
    });
    result.details['topUp'] = { ok: load.ok, failed: load.failed, seconds: Math.round(load.durationMs) / 1000 };
  }

  const env = { ...(await projectEnv(o.projectRoot)), MX_LOG_LEVEL: 'warn' };
  log(`replay: node ${CLI} verify`);
  const samples: ReplaySample[] = [];
  const started = now();
  let stdout = '';
  let stderrTail = '';
  const exit = await new Promise<{ code: number | null; signal: string | null; timedOut: boolean }>((resolve) => {
    const child = spawn(process.execPath, [cli, 'verify'], { cwd: o.projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, o.replayTimeoutS * 1000);
    let lastLog = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const t = now() - started;
      for (const piece of chunk.split(/[\r\n]/)) {
        const sample = parseReplayLine(piece, t);
        if (sample) {
          samples.push(sample);
          if (t - lastLog > 2000) {
            lastLog = t;
            log(`replay: ${sample.done}/${sample.total} events, ${sample.rate} events/s`);
          }
        } else if (piece.trim()) stderrTail = `${stderrTail}\n${piece}`.slice(-2000);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
  const totalMs = now() - started;
  const rates = replayRates(samples);
  const verify = stdout.trim().split('\n').filter(Boolean);
  Object.assign(result.details, {
    exitCode: exit.code,
    signal: exit.signal,
    timedOut: exit.timedOut,
    events: rates.events,
    caughtUpSeconds: rates.caughtUpMs === null ? null : Math.round(rates.caughtUpMs) / 1000,
    totalSeconds: Math.round(totalMs) / 1000,
    eventsPerSecondPhase: rates.phaseRate,
    eventsPerSecondCli: rates.cliRate,
    eventsPerSecondWall: rates.wallRate,
    samples: samples.length,
    verify,
    stderrTail: stderrTail.trim() || undefined,
  });
  if (exit.timedOut) {
    result.status = 'failed';
    result.error = `replay did not finish within ${o.replayTimeoutS} s`;
  } else if (exit.code !== 0) {
    result.status = exit.code === 1 ? 'ok' : 'failed';
    result.notes.push(
      `The replay CLI exited ${exit.code ?? exit.signal ?? '?'}${exit.code === 1 ? ': the live projection differs from the replay' : ''}.`,
    );
    if (exit.code !== 1) result.error = stderrTail.trim().slice(-500);
  }
  const headline = rates.phaseRate ?? rates.cliRate;
  if (rates.phaseRate === null)
    result.notes.push(
      'The replay caught up before two progress samples (250 ms apart) saw progress: the figure is the CLI’s own rate, which includes the consumer-group join.',
    );
  result.notes.push(
    'Rates: phase = events between the first sample with progress and the first caught-up sample; CLI = the command’s own printed rate (since its consumer started); wall = all events over the time from spawning the command (start-up, migrations and group join included).',
  );
  result.metrics.push(
    {
      id: 'replay.events_per_second',
      scenario: 'replay',
      label: 'replay events per second',
      value: headline,
      unit: 'events/s',
      better: 'higher',
    },
    { id: 'replay.events', scenario: 'replay', label: 'events replayed', value: rates.events, unit: 'events', better: 'higher' },
  );
  result.plots.push(
    await ctx.writePlot(
      'replay-progress.svg',
      'Replay progress',
      lineChart({
        title: 'Replay: events applied over time',
        xLabel: 'seconds since the command started',
        yLabel: 'events applied',
        series: [{ name: 'events', points: samples.map((sample) => ({ x: sample.t / 1000, y: sample.done })) }],
        yMin: 0,
      }),
    ),
  );
  return result;
}
