import { isLoopbackHost } from './loopback.js';
import { sleep } from './time.js';

export interface DbCounters {
  readonly transactions: number;
  readonly tuplesReturned: number;
  readonly tuplesFetched: number;
}

/**
 * Transactions and tuples read in one PostgreSQL database (pg_stat_database), to check that a
 * workload causes no queries. Backends flush their statistics when idle, at most every second and
 * within ~10 s (PGSTAT_IDLE_INTERVAL), so readings wait for that before counting.
 */
export class DbActivity {
  private constructor(private readonly client: import('pg').Client) {}

  static async connect(url: string): Promise<DbActivity> {
    const host = new URL(url).hostname;
    if (!isLoopbackHost(host)) throw new Error(`database ${host} is not on loopback`);
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: url, application_name: 'mx-bench' });
    await client.connect();
    return new DbActivity(client);
  }

  async read(): Promise<DbCounters> {
    await this.client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await this.client.query<{ x: string; r: string; f: string }>(
      `SELECT (xact_commit + xact_rollback)::text AS x, tup_returned::text AS r, tup_fetched::text AS f
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    const row = rows[0];
    return { transactions: Number(row?.x ?? 0), tuplesReturned: Number(row?.r ?? 0), tuplesFetched: Number(row?.f ?? 0) };
  }

  /** Waits until other backends have flushed their pending statistics. */
  static async flushDelay(signal?: AbortSignal): Promise<void> {
    await sleep(11_000, signal);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
