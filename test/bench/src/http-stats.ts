/** Counters over every request of a run (all scenarios and the setup), reported as they are. */
export class HttpStats {
  requests = 0;
  /** Responses by status code. */
  readonly statuses = new Map<number, number>();
  /** 429 answers (each was backed off by its retry_after_ms and retried). */
  rateLimited = 0;
  /** Total time spent backing off after 429s. */
  backoffMs = 0;
  /** Requests that ended without a response (connection error, timeout). Aborts by the harness are not counted. */
  transportErrors = 0;

  count(status: number): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  snapshot(): { requests: number; statuses: Record<string, number>; rateLimited: number; backoffMs: number; transportErrors: number } {
    return {
      requests: this.requests,
      statuses: Object.fromEntries([...this.statuses].sort(([a], [b]) => a - b).map(([status, count]) => [String(status), count])),
      rateLimited: this.rateLimited,
      backoffMs: Math.round(this.backoffMs),
      transportErrors: this.transportErrors,
    };
  }
}
