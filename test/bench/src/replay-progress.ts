/** One progress line of the replay CLI: `replay: <done>/<total> events, <left> left, <rate> events/s`. */
export interface ReplaySample {
  /** When the harness read the line (ms since the CLI was started). */
  readonly t: number;
  readonly done: number;
  readonly total: number;
  readonly rate: number;
}

const LINE = /replay: (\d+)\/(\d+) events, (-?\d+) left, (\d+) events\/s/;

export function parseReplayLine(line: string, t: number): ReplaySample | undefined {
  const match = LINE.exec(line);
  return match ? { t, done: Number(match[1]), total: Number(match[2]), rate: Number(match[4]) } : undefined;
}

export interface ReplayRates {
  /** Events the replay applied. */
  readonly events: number;
  /** ms from the start of the CLI to the first sample with every event applied. */
  readonly caughtUpMs: number | null;
  /** Events per second between the first sample with progress and the first caught-up sample (excludes start-up). */
  readonly phaseRate: number | null;
  /** The CLI's own rate when it caught up (events since its consumer started, so including the group join). */
  readonly cliRate: number | null;
  /** All events over the time from spawning the CLI to catching up (start-up included). */
  readonly wallRate: number | null;
}

/** Rates from the CLI's samples (250 ms apart): the phase rate needs progress seen in two samples. */
export function replayRates(samples: readonly ReplaySample[]): ReplayRates {
  const caught = samples.find((sample) => sample.total > 0 && sample.done >= sample.total);
  const first = samples.find((sample) => sample.done > 0);
  const events = caught?.total ?? samples.at(-1)?.done ?? 0;
  const phaseRate =
    caught && first && caught.t > first.t && caught.done > first.done ? ((caught.done - first.done) / (caught.t - first.t)) * 1000 : null;
  return {
    events,
    caughtUpMs: caught?.t ?? null,
    phaseRate: phaseRate === null ? null : Math.round(phaseRate),
    cliRate: caught?.rate ?? null,
    wallRate: caught && caught.t > 0 ? Math.round((caught.total / caught.t) * 1000) : null,
  };
}
