import type { Consumer, Kafka } from 'kafkajs';
import type { ConsumeOptions, EventLogConsumer } from '../event-log.port.js';

export interface KafkajsConsumerOptions {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxBytesPerPartition: number;
  /** The most bytes one fetch returns, all partitions together (kafkajs' default, 10 MiB, when absent). */
  readonly maxBytes?: number;
}

/**
 * Consumer-group member handing whole per-partition batches to the caller. On every assignment
 * it seeks, synchronously (nothing awaited between the group join and the seek), to the offsets
 * the caller reports, so the caller's own store decides where consumption resumes.
 */
export class KafkajsConsumer implements EventLogConsumer {
  private readonly consumer: Consumer;
  private stopping = false;
  private consuming = false;
  private restartDelayMs = 1000;

  constructor(kafka: Kafka, options: KafkajsConsumerOptions) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      // Fetches still return as soon as records arrive; a short wait makes seek and stop prompt.
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
    });
  }

  async start(options: ConsumeOptions): Promise<void> {
    const { resumeOffset } = options;
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      // A member again: the restart backoff starts over only now (run() also resolves when the join then crashes).
      this.consuming = true;
      this.restartDelayMs = 1000;
      if (!resumeOffset) return;
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const offset = resumeOffset(topic, partition);
          if (offset !== undefined) this.consumer.seek({ topic, partition, offset: String(offset) });
        }
      }
    });
    this.consumer.on(this.consumer.events.STOP, () => {
      this.consuming = false;
    });
    // kafkajs restarts a crashed consumer only after retriable errors; one that crashed on a
    // non-retriable one (e.g. no group coordinator while the broker was going away during the
    // group join) would stay stopped for ever while the process lives on. Restart it here.
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.consuming = false;
      if (payload.restart || this.stopping) return;
      const delay = this.restartDelayMs;
      this.restartDelayMs = Math.min(this.restartDelayMs * 2, 10_000);
      setTimeout(() => void this.restart(options), delay).unref();
    });
    await this.run(options);
  }

  private async restart(options: ConsumeOptions): Promise<void> {
    if (this.stopping) return;
    try {
      await this.run(options);
    } catch {
      // A failed start crashes again (or throws): the CRASH handler or this retry schedules the next attempt.
      setTimeout(() => void this.restart(options), this.restartDelayMs).unref();
    }
  }

  private async run(options: ConsumeOptions): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
    await this.consumer.run({
      eachBatchAutoResolve: true,
      autoCommit: true,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const stale = (): boolean => payload.isStale() || !payload.isRunning();
        if (batch.messages.length === 0 || stale()) return;
        await options.onBatch({
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: Number(batch.highWatermark),
          records: batch.messages.map((message) => ({
            offset: Number(message.offset),
            key: message.key === null ? null : message.key.toString('utf8'),
            value: message.value,
            timestamp: Number(message.timestamp),
          })),
          isStale: stale,
        });
      },
    });
  }

  isConsuming(): boolean {
    return this.consuming;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.consuming = false;
    await this.consumer.disconnect();
  }
}
