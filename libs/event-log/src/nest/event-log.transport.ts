import { BaseRpcContext, type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { EventLogConsumer, RecordBatch } from '../event-log.port.js';

export interface EventLogTransportOptions {
  readonly consumer: EventLogConsumer;
  /** Logical stream name (the `@EventPattern`) → topic name. */
  readonly streams: Readonly<Record<string, string>>;
  readonly resumeOffset?: (topic: string, partition: number) => number | undefined;
}

/** Context of a batch handler: which stream, topic and partition it came from. */
export class RecordBatchContext extends BaseRpcContext<[string, string, number]> {
  get stream(): string {
    return this.args[0];
  }
}

/**
 * A Nest microservice transport on our event-log port that hands handlers whole per-partition
 * batches (`@EventPattern('<stream>')` receives a RecordBatch), so a handler can apply a batch in
 * one database transaction and decide for itself where each partition resumes. Nest's built-in
 * Kafka transport handles one message at a time and hides assignment, which exactly-once
 * projection cannot work with.
 */
export class EventLogTransport extends Server implements CustomTransportStrategy {
  constructor(private readonly options: EventLogTransportOptions) {
    super();
  }

  listen(callback: (error?: unknown) => void): void {
    const streamOfTopic = new Map(Object.entries(this.options.streams).map(([stream, topic]) => [topic, stream]));
    this.options.consumer
      .start({
        topics: Object.values(this.options.streams),
        ...(this.options.resumeOffset ? { resumeOffset: this.options.resumeOffset } : {}),
        onBatch: async (batch: RecordBatch) => {
          const stream = streamOfTopic.get(batch.topic);
          const handler = stream === undefined ? null : this.getHandlerByPattern(stream);
          if (!handler || stream === undefined) throw new Error(`No handler for topic ${batch.topic}`);
          const result: unknown = await handler(batch, new RecordBatchContext([stream, batch.topic, batch.partition]));
          await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
        },
      })
      .then(() => callback(), callback);
  }

  async close(): Promise<void> {
    await this.options.consumer.stop();
  }

  on(): never {
    throw new Error('EventLogTransport does not support event listeners');
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- signature fixed by Nest's Server
  unwrap<T>(): T {
    return this.options.consumer as T;
  }
}
