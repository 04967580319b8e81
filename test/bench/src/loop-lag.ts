import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';

/** The harness's own event-loop delay over a scenario: a busy harness inflates every latency it measures. */
export class LoopLag {
  private readonly histogram: ELDHistogram = monitorEventLoopDelay({ resolution: 10 });

  start(): void {
    this.histogram.reset();
    this.histogram.enable();
  }

  stop(): { p50Ms: number; p99Ms: number; maxMs: number } {
    this.histogram.disable();
    const ms = (ns: number) => Math.round((ns / 1e6) * 100) / 100;
    return { p50Ms: ms(this.histogram.percentile(50)), p99Ms: ms(this.histogram.percentile(99)), maxMs: ms(this.histogram.max) };
  }
}
