import { now } from './time.js';

/** Progress lines on stderr (stdout stays free for the final summary). */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Prints `render()` every `intervalMs` until stopped; returns the stop function. */
export function every(intervalMs: number, render: () => string): () => void {
  const timer = setInterval(() => log(render()), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** A counted task: `label done/total (rate/s, eta)` every few seconds. */
export class Progress {
  private done = 0;
  private failed = 0;
  private readonly started = now();
  private readonly stop: () => void;

  constructor(
    private readonly label: string,
    private readonly total: number,
    intervalMs = 2000,
  ) {
    this.stop = every(intervalMs, () => this.line());
  }

  tick(ok = true): void {
    if (ok) this.done += 1;
    else this.failed += 1;
  }

  line(): string {
    const elapsed = (now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const left = this.total - this.done - this.failed;
    const eta = rate > 0 ? `, eta ${Math.ceil(left / rate)} s` : '';
    const failed = this.failed ? `, ${this.failed} failed` : '';
    return `${this.label}: ${this.done}/${this.total} (${rate.toFixed(1)}/s${eta}${failed})`;
  }

  finish(): void {
    this.stop();
    log(`${this.line()} in ${((now() - this.started) / 1000).toFixed(1)} s`);
  }
}
