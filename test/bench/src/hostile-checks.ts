/**
 * Pure bookkeeping of the hostile scenario (issue 12): what counts as a Matrix error body, how
 * responses are tallied, RSS growth, partition stalls and the choice of keys covering every
 * partition. No I/O here, so all of it is unit-tested.
 */

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'other' | 'transport';

/** `transport` when no response arrived (connection error, timeout). */
export function statusClass(status: number | undefined): StatusClass {
  if (status === undefined) return 'transport';
  if (status >= 100 && status < 600) return `${Math.floor(status / 100)}xx` as StatusClass;
  return 'other';
}

/** A Matrix error body: a JSON object with a string `errcode` and a string `error`. */
export function isMatrixErrorBody(text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  const body = parsed as Record<string, unknown>;
  return typeof body['errcode'] === 'string' && typeof body['error'] === 'string';
}

export interface KindTally {
  requests: number;
  /** Responses by status code; `transport` for requests that got none. */
  readonly statuses: Record<string, number>;
  serverErrors: number;
  nonMatrixErrors: number;
  /** Answers outside what the case expects (e.g. a 200 where a 4xx is required). */
  unexpected: number;
  /** A few offending answers, to read in the report. */
  readonly samples: { status: number | null; why: string; body: string }[];
}

export interface TallySnapshot {
  readonly requests: number;
  readonly byClass: Record<StatusClass, number>;
  readonly serverErrors: number;
  readonly nonMatrixErrors: number;
  readonly transportErrors: number;
  readonly unexpected: number;
  readonly byKind: Record<string, KindTally>;
}

const SAMPLES_PER_KIND = 3;

/**
 * Every response of the mix, by request kind and status class. A 5xx is always counted as a server
 * error; every 4xx/5xx body must be a Matrix error (see isMatrixErrorBody).
 */
export class ResponseTally {
  private readonly kinds = new Map<string, KindTally>();
  private readonly classes: Record<StatusClass, number> = {
    '1xx': 0,
    '2xx': 0,
    '3xx': 0,
    '4xx': 0,
    '5xx': 0,
    other: 0,
    transport: 0,
  };

  /**
   * One answer (`status` undefined: no response, `text` then holds the error). `expected` is the
   * case's own verdict on the status (true when it has none).
   */
  record(kind: string, status: number | undefined, text: string, expected = true): void {
    let tally = this.kinds.get(kind);
    if (!tally) {
      tally = { requests: 0, statuses: {}, serverErrors: 0, nonMatrixErrors: 0, unexpected: 0, samples: [] };
      this.kinds.set(kind, tally);
    }
    tally.requests += 1;
    const key = status === undefined ? 'transport' : String(status);
    tally.statuses[key] = (tally.statuses[key] ?? 0) + 1;
    const cls = statusClass(status);
    this.classes[cls] += 1;
    const reasons: string[] = [];
    if (cls === '5xx') {
      tally.serverErrors += 1;
      reasons.push('5xx');
    }
    if (status !== undefined && status >= 400 && !isMatrixErrorBody(text)) {
      tally.nonMatrixErrors += 1;
      reasons.push('not a Matrix error body');
    }
    if (!expected) {
      tally.unexpected += 1;
      reasons.push('unexpected status');
    }
    if (status === undefined) reasons.push('no response');
    if (reasons.length && tally.samples.length < SAMPLES_PER_KIND)
      tally.samples.push({ status: status ?? null, why: reasons.join(', '), body: text.slice(0, 200) });
  }

  snapshot(): TallySnapshot {
    const byKind = Object.fromEntries([...this.kinds].sort(([a], [b]) => a.localeCompare(b)));
    const sum = (pick: (tally: KindTally) => number) => [...this.kinds.values()].reduce((total, tally) => total + pick(tally), 0);
    return {
      requests: sum((tally) => tally.requests),
      byClass: { ...this.classes },
      serverErrors: sum((tally) => tally.serverErrors),
      nonMatrixErrors: sum((tally) => tally.nonMatrixErrors),
      transportErrors: this.classes.transport,
      unexpected: sum((tally) => tally.unexpected),
      byKind,
    };
  }
}

/** The samples of one metric in Prometheus' text format, with their labels. */
export function promSamples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const samples: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(match[3]);
    if (!Number.isNaN(value)) samples.push({ labels, value });
  }
  return samples;
}

export const MB = 1_000_000;

export interface RssSummary {
  readonly startMB: number | null;
  readonly maxMB: number | null;
  readonly minMB: number | null;
  readonly endMB: number | null;
  readonly endMinusStartMB: number | null;
  /** Growth: the largest reading (the end included) minus the start. */
  readonly maxMinusStartMB: number | null;
  /** How far below the start the process went (memory given back, e.g. garbage of earlier load collected). */
  readonly startMinusMinMB: number | null;
  /** No reading more than `limitMB` above the start (null when not measured). */
  readonly withinLimit: boolean | null;
  readonly samples: number;
}

const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/**
 * RSS over the run, in MB (10^6 bytes): `start` and `end` are the settled readings before and
 * after, `during` the periodic ones; undefined readings (the process was gone) are skipped. The
 * bound is on growth: every reading at most `limitMB` above the start (a process giving memory
 * back is not a failure; startMinusMinMB shows it).
 */
export function rssSummary(
  start: number | undefined,
  during: readonly (number | undefined)[],
  end: number | undefined,
  limitMB: number,
): RssSummary {
  const readings = [start, ...during, end].filter((value): value is number => value !== undefined);
  const max = readings.length ? Math.max(...readings) : undefined;
  const min = readings.length ? Math.min(...readings) : undefined;
  const measured = start !== undefined && max !== undefined && min !== undefined;
  return {
    startMB: start === undefined ? null : mb(start),
    maxMB: max === undefined ? null : mb(max),
    minMB: min === undefined ? null : mb(min),
    endMB: end === undefined ? null : mb(end),
    endMinusStartMB: start === undefined || end === undefined ? null : mb(end - start),
    maxMinusStartMB: measured ? mb(max - start) : null,
    startMinusMinMB: measured ? mb(start - min) : null,
    withinLimit: measured ? max - start <= limitMB * MB : null,
    samples: readings.length,
  };
}

export interface PositionSample {
  /** Monotonic ms. */
  readonly t: number;
  /** The projection's next offset for the partition. */
  readonly position: number;
  /** Kafka's high watermark of the partition. */
  readonly high: number;
}

/**
 * The longest time (ms) the partition had records past its position without the position moving:
 * from the first reading with lag at a position to the last reading still at that position with lag.
 */
export function longestStallMs(samples: readonly PositionSample[]): number {
  let longest = 0;
  let since: number | undefined;
  let at: number | undefined;
  for (const sample of samples) {
    const behind = sample.high > sample.position;
    if (!behind) since = undefined;
    else if (since === undefined || sample.position !== at) since = sample.t;
    at = sample.position;
    if (since !== undefined) longest = Math.max(longest, sample.t - since);
  }
  return longest;
}

/**
 * Picks candidates so that each of the `partitions` partitions gets `perPartition` of them, in
 * candidate order, stopping as soon as all are covered or after `maxCandidates`.
 */
export function coverPartitions<T>(
  candidates: Iterable<T>,
  partitionOf: (candidate: T) => number,
  partitions: number,
  perPartition: number,
  maxCandidates = 100_000,
): { chosen: { candidate: T; partition: number }[]; missing: number[] } {
  const counts = new Array<number>(partitions).fill(0);
  const chosen: { candidate: T; partition: number }[] = [];
  let full = 0;
  let seen = 0;
  for (const candidate of candidates) {
    if (full === partitions || seen >= maxCandidates) break;
    seen += 1;
    const partition = partitionOf(candidate);
    if (partition < 0 || partition >= partitions || counts[partition]! >= perPartition) continue;
    counts[partition] = counts[partition]! + 1;
    if (counts[partition] === perPartition) full += 1;
    chosen.push({ candidate, partition });
  }
  return { chosen, missing: counts.flatMap((count, partition) => (count < perPartition ? [partition] : [])) };
}

export interface PartitionVerdictInput {
  readonly topic: string;
  readonly partition: number;
  readonly before: number | null;
  readonly after: number | null;
  readonly highAtEnd: number | null;
}

/**
 * A partition kept advancing when its position moved forward over the run and it is not behind
 * its high watermark once the load stopped (after the settle time).
 */
export function keptAdvancing(row: PartitionVerdictInput): boolean {
  if (row.before === null || row.after === null || row.highAtEnd === null) return false;
  return row.after > row.before && row.after >= row.highAtEnd;
}
