import { type Metric, type TargetEvaluation } from './report/model.js';

/** The targets (2-core machine). Measured and reported, never asserted. */
export interface TargetSpec {
  readonly metric: string;
  readonly label: string;
  readonly op: '<=' | '>=' | '==';
  readonly threshold: number;
  readonly unit: string;
  /** Empty when the run used the scale the target is stated at, else what differs. */
  readonly scale: (p: ScaleParameters) => string;
}

export interface ScaleParameters {
  readonly users: number;
  readonly fanoutRate: number;
  readonly initialSizes: readonly number[];
  readonly memoryParked: number;
  /** Seconds of the hostile mix (the target is stated for one minute); absent = not given. */
  readonly hostileDurationS?: number;
}

const hostileScale = (p: ScaleParameters) =>
  p.hostileDurationS === undefined || p.hostileDurationS >= 60 ? '' : `a ${p.hostileDurationS} s mix (target: one minute)`;

/** Issue 12: the services the RSS bound applies to (the local stack's pid files). */
export const HOSTILE_PROCESSES = ['writer', 'projector', 'sync-api'] as const;

const fanoutScale = (p: ScaleParameters) =>
  p.users >= 1000 && p.fanoutRate >= 100 ? '' : `run at ${p.users} clients and ${p.fanoutRate} writes/s (target: 1,000 and 100/s)`;

export const TARGETS: readonly TargetSpec[] = [
  {
    metric: 'fanout.latency.p99',
    label: 'fan-out delivery p99 (1,000 long-polling clients, 100 writes/s)',
    op: '<=',
    threshold: 50,
    unit: 'ms',
    scale: fanoutScale,
  },
  { metric: 'fanout.missing', label: 'fan-out deliveries missing', op: '==', threshold: 0, unit: 'pairs', scale: fanoutScale },
  {
    metric: 'fanout.leaks',
    label: 'fan-out deliveries to users sharing no room',
    op: '==',
    threshold: 0,
    unit: 'values',
    scale: fanoutScale,
  },
  { metric: 'writes.per_second', label: 'durable profile writes per second', op: '>=', threshold: 3000, unit: '/s', scale: () => '' },
  { metric: 'idle.per_second', label: 'idle incremental syncs per second', op: '>=', threshold: 10000, unit: '/s', scale: () => '' },
  {
    metric: 'idle.db_transactions_per_request',
    label: 'no database query when nothing changed (PostgreSQL transactions per idle sync, background included)',
    op: '<=',
    threshold: 0.01,
    unit: 'tx',
    scale: () => '',
  },
  {
    metric: 'initial.m10000.time.p50',
    label: 'initial sync with 10k co-members (median)',
    op: '<=',
    threshold: 150,
    unit: 'ms',
    scale: (p) => (p.initialSizes.includes(10000) ? '' : `run at M = ${p.initialSizes.join(', ')} (target: 10,000)`),
  },
  { metric: 'replay.events_per_second', label: 'projector replay', op: '>=', threshold: 50000, unit: 'events/s', scale: () => '' },
  {
    metric: 'memory.sync_process.rss_parked',
    label: 'RSS of the /sync process with 1,000 parked long-polls (200 MB = 190.7 MiB)',
    op: '<=',
    threshold: 190.7,
    unit: 'MiB',
    scale: (p) => (p.memoryParked >= 1000 ? '' : `run with ${p.memoryParked} parked long-polls (target: 1,000)`),
  },
  ...HOSTILE_PROCESSES.map((name): TargetSpec => ({
    metric: `hostile.rss_growth.${name}`,
    label: `hostile mix: ${name} RSS at most 50 MB above its start (largest reading − start; MB = 10^6 bytes)`,
    op: '<=',
    threshold: 50,
    unit: 'MB',
    scale: hostileScale,
  })),
  {
    metric: 'hostile.partitions_not_advancing',
    label: 'hostile mix: partitions that did not keep advancing (no progress, or still behind after the settle)',
    op: '==',
    threshold: 0,
    unit: 'partitions',
    scale: hostileScale,
  },
  { metric: 'hostile.server_errors', label: 'hostile mix: responses 5xx', op: '==', threshold: 0, unit: 'responses', scale: hostileScale },
  {
    metric: 'hostile.non_matrix_error_bodies',
    label: 'hostile mix: 4xx/5xx bodies that are not Matrix errors ({errcode, error})',
    op: '==',
    threshold: 0,
    unit: 'responses',
    scale: hostileScale,
  },
];

const fmt = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString());

export function evaluate(spec: TargetSpec, value: number | null, parameters: ScaleParameters): TargetEvaluation {
  const base = {
    metric: spec.metric,
    label: spec.label,
    op: spec.op,
    threshold: spec.threshold,
    unit: spec.unit,
    value,
    scaleNote: spec.scale(parameters),
  };
  if (value === null) return { ...base, status: 'not-measured', shortfall: '' };
  const met = spec.op === '<=' ? value <= spec.threshold : spec.op === '>=' ? value >= spec.threshold : value === spec.threshold;
  if (met) return { ...base, status: 'met', shortfall: '' };
  let shortfall: string;
  if (spec.op === '<=')
    shortfall =
      spec.threshold > 0
        ? `${fmt(value - spec.threshold)} ${spec.unit} over (${fmt(value / spec.threshold)}× the limit)`
        : `${fmt(value - spec.threshold)} ${spec.unit} over`;
  else if (spec.op === '>=')
    shortfall = `${fmt(spec.threshold - value)} ${spec.unit} short (${fmt((value / spec.threshold) * 100)} % of the target)`;
  else shortfall = `${fmt(value)} instead of ${fmt(spec.threshold)}`;
  return { ...base, status: 'missed', shortfall };
}

export function evaluateTargets(metrics: readonly Metric[], parameters: ScaleParameters): TargetEvaluation[] {
  return TARGETS.map((spec) => evaluate(spec, metrics.find((metric) => metric.id === spec.metric)?.value ?? null, parameters));
}
