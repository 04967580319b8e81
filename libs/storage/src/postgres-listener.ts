import pg from 'pg';
import type { AppConfig } from '@mx/config';

export interface ListenerLogger {
  warn(context: object, message: string): void;
  info(context: object, message: string): void;
}

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel and reconnects by itself
 * (with backoff) when the database goes away. `onReconnect` lets the owner catch up on what it
 * may have missed while disconnected.
 */
export class PostgresListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;

  constructor(
    private readonly database: AppConfig['database'],
    private readonly channel: string,
    private readonly onNotification: (payload: string) => void,
    private readonly onReconnect: () => void,
    private readonly logger: ListenerLogger,
    /** Names the connection in pg_stat_activity. */
    private readonly applicationName = 'mx-listener',
  ) {}

  /** True while the connection is up and LISTENing: no notification can be missed. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      host: this.database.host,
      port: this.database.port,
      database: this.database.name,
      user: this.database.user,
      password: this.database.password,
      ssl: this.database.sslMode === 'disable' ? false : { rejectUnauthorized: this.database.sslMode === 'verify-full' },
      application_name: this.applicationName,
    });
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload !== undefined) this.onNotification(message.payload);
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error.message }, 'listener connection failed');
      this.scheduleReconnect(client);
    });
    client.on('end', () => this.scheduleReconnect(client));
    await client.connect();
    await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
    this.client = client;
    this.attempt = 0;
  }

  private scheduleReconnect(failed: pg.Client): void {
    if (this.stopped || this.client !== failed || this.retryTimer) return;
    this.client = undefined;
    void failed.end().catch(() => undefined);
    const delay = Math.min(5000, 100 * 2 ** this.attempt++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().then(
        () => {
          this.logger.info({ channel: this.channel }, 'listener reconnected');
          this.onReconnect();
        },
        (error: unknown) => {
          this.logger.warn({ err: String(error) }, 'listener reconnect failed');
          this.client = failed;
          this.scheduleReconnect(failed);
        },
      );
    }, delay);
  }
}
