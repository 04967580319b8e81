import type { AppConfig } from '@mx/config';
import { PostgresListener, type ListenerLogger } from './postgres-listener.js';
import { decodeProjectionChange, projectionChannel, type ProjectionChange } from './projection-changes.js';

/** A change the projector committed, or `resync` after a reconnect (changes may have been missed). */
export type ProjectionEvent =
  | { readonly kind: 'change'; readonly change: ProjectionChange; /** The notification's length in characters. */ readonly size: number }
  | { readonly kind: 'resync' };

/**
 * Listens for the projector's commits (PostgreSQL LISTEN on the projection channel) and fans them
 * out to in-process subscribers (the writer's read-your-writes barrier, the sync API's watcher).
 * One connection per process, whatever the number of subscribers.
 */
export class ProjectionCommitListener {
  private readonly subscribers = new Set<(event: ProjectionEvent) => void>();
  private readonly listener: PostgresListener;

  constructor(database: AppConfig['database'], logger: ListenerLogger) {
    this.listener = new PostgresListener(
      database,
      projectionChannel(database.schema),
      (payload) => {
        const change = decodeProjectionChange(payload);
        if (!change) {
          logger.warn({ payload: payload.slice(0, 200) }, 'ignoring malformed projection notification');
          return;
        }
        this.emit({ kind: 'change', change, size: payload.length });
      },
      () => this.emit({ kind: 'resync' }),
      logger,
    );
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  subscribe(subscriber: (event: ProjectionEvent) => void): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  private emit(event: ProjectionEvent): void {
    for (const subscriber of this.subscribers) subscriber(event);
  }
}
