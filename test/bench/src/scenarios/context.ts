import { type MatrixClient } from '../matrix-client.js';
import { type Options, type ScenarioName } from '../options.js';
import { type ProcessRef } from '../proc.js';
import { type Plot, type ScenarioResult } from '../report/model.js';
import { type BenchUser, type CrowdSetup, type SocialSetup } from '../seed-setup.js';

/** What every scenario gets from the run. */
export interface ScenarioContext {
  readonly options: Options;
  readonly matrix: MatrixClient;
  /** Unique per run; part of every value written, so values of earlier runs are never mistaken for this run's. */
  readonly runTag: string;
  readonly processes: readonly ProcessRef[];
  readonly social: () => Promise<SocialSetup>;
  readonly crowd: () => Promise<CrowdSetup>;
  /** The user's uploaded filter asking for `fields` (plus `extra`), uploaded once per run and user. */
  readonly filterId: (user: BenchUser, fields: readonly string[], extra?: Record<string, unknown>) => Promise<string>;
  readonly writePlot: (file: string, title: string, svg: string) => Promise<Plot>;
  /** A client like `matrix` (same base URL, same counters) whose /sync goes to another origin. */
  readonly matrixWithSync: (syncBaseUrl: string) => MatrixClient;
}

export function newResult(name: ScenarioName, title: string, parameters: Record<string, unknown>): ScenarioResult {
  return { name, title, status: 'ok', notes: [], durationS: 0, parameters, details: {}, metrics: [], plots: [] };
}

/** What to say when many concurrent /sync requests fail: the server refusing, not answering in time, or a connection limit. */
export function connectionHint(errors: readonly string[], syncBaseUrl: string): string {
  const first = `First errors: ${errors.slice(0, 3).join('; ') || 'none recorded'}.`;
  if (errors.length > 0 && errors.every((error) => error.startsWith('HTTP ')))
    return `${first} The server answered with errors (overloaded or a dependency unavailable: see its logs).`;
  if (errors.length > 0 && errors.every((error) => error.startsWith('HTTP ') || error.includes('timed out')))
    return `${first} The server did not answer within the request timeout (overloaded).`;
  const router =
    new URL(syncBaseUrl).port === '8008'
      ? ' /sync went through the local router (nginx: one worker, worker_connections 1024, two connections per proxied long-poll, so about 500 parked long-polls): point --sync-base-url at the sync API (http://127.0.0.1:8102) or raise the limit.'
      : '';
  return `${first} Requests failing without an answer usually mean a connection limit between the harness and the server (check ulimit -n on both sides).${router}`;
}
