import { type ScenarioName } from '../options.js';
import { type MachineInfo } from '../proc.js';

/** One headline figure; the compare command pairs metrics of two runs by `id`. */
export interface Metric {
  readonly id: string;
  readonly scenario: ScenarioName;
  readonly label: string;
  readonly value: number | null;
  readonly unit: string;
  /** Which direction is an improvement (for the ratios of the compare table). */
  readonly better: 'lower' | 'higher';
}

export interface Plot {
  readonly file: string;
  readonly title: string;
}

export type ScenarioStatus = 'ok' | 'failed' | 'not-applicable';

export interface ScenarioResult {
  readonly name: ScenarioName;
  readonly title: string;
  status: ScenarioStatus;
  /** Remarks worth reading next to the figures (caveats, overload, partial results). */
  readonly notes: string[];
  error?: string;
  durationS: number;
  readonly parameters: Record<string, unknown>;
  /** Every figure of the scenario (summaries, counts, timelines). */
  readonly details: Record<string, unknown>;
  readonly metrics: Metric[];
  readonly plots: Plot[];
}

export interface TargetEvaluation {
  readonly metric: string;
  readonly label: string;
  readonly op: '<=' | '>=' | '==';
  readonly threshold: number;
  readonly unit: string;
  readonly value: number | null;
  /** met / missed / not measured. */
  readonly status: 'met' | 'missed' | 'not-measured';
  /** How far off, in words (empty when met). */
  readonly shortfall: string;
  /** The target is stated at a scale this run did not use (e.g. --quick). */
  readonly scaleNote: string;
}

export interface Report {
  readonly schema: 'mx-bench/1';
  readonly target: string;
  readonly baseUrl: string;
  readonly syncBaseUrl: string;
  readonly quick: boolean;
  readonly startedAt: string;
  finishedAt: string;
  durationS: number;
  readonly machine: MachineInfo;
  readonly parameters: Record<string, unknown>;
  setup: Record<string, unknown>;
  http: Record<string, unknown>;
  readonly scenarios: ScenarioResult[];
  targets: TargetEvaluation[];
}
