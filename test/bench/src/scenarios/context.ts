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
}

export function newResult(name: ScenarioName, title: string, parameters: Record<string, unknown>): ScenarioResult {
  return { name, title, status: 'ok', notes: [], durationS: 0, parameters, details: {}, metrics: [], plots: [] };
}

/** What to say when many concurrent /sync requests fail: a connection limit, or the server refusing. */
export function connectionHint(errors: readonly string[], syncBaseUrl: string): string {
  const first = `First errors: ${errors.slice(0, 3).join('; ') || 'none recorded'}.`;
  if (errors.length > 0 && errors.every((error) => error.startsWith('HTTP ')))
    return `${first} The server answered with errors (overloaded or a dependency unavailable: see its logs).`;
  return `${first} Many concurrent long-polls failing without an answer usually means a connection limit between the harness and the server: the local router (nginx, one worker, worker_connections 1024, two connections per proxied long-poll) holds about 500; /sync went to ${syncBaseUrl}. Point --sync-base-url at the sync API (http://127.0.0.1:8102) or raise the limit, and check ulimit -n.`;
}
