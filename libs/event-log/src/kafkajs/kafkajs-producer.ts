import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { EventLogProducer, LogPosition, LogRecord } from '../event-log.port.js';
import { partitionForKey } from '../murmur2-partitioner.js';

/**
 * Idempotent, acks=all producer. Records are partitioned here (Kafka's murmur2 of the key) so
 * that each record's offset is known exactly from the broker's per-partition base offsets.
 */
export class KafkajsProducer implements EventLogProducer {
  private readonly producer: Producer;
  private readonly partitionCounts = new Map<string, number>();
  private connection: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly ackTimeoutMs: number,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Records carry explicit partitions (see append); this only silences kafkajs's v2 notice.
      createPartitioner: Partitioners.DefaultPartitioner,
      // Retries stay unlimited (as idempotence requires): giving up on a request the broker may
      // have written would let a later record reuse its sequence number and be dropped as a
      // duplicate. Callers get a deadline instead (see append).
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 2000 },
    });
  }

  /** Connects once; a failed attempt is forgotten so the next call tries again. */
  connect(): Promise<void> {
    this.connection ??= this.producer.connect().catch((error: unknown) => {
      this.connection = undefined;
      throw error;
    });
    return this.connection;
  }

  async disconnect(): Promise<void> {
    this.connection = undefined;
    await this.producer.disconnect();
  }

  /**
   * Rejects when the broker has not acknowledged within the ack timeout (the caller answers 503:
   * the outcome is unknown, the records may still be written, in order, once the broker is back).
   */
  append(topic: string, records: readonly LogRecord[]): Promise<LogPosition[]> {
    if (records.length === 0) return Promise.resolve([]);
    const sending = this.send(topic, records);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not acknowledge within ${this.ackTimeoutMs} ms`)), this.ackTimeoutMs);
    });
    sending.catch(() => undefined).finally(() => clearTimeout(timer));
    return Promise.race([sending, deadline]);
  }

  private async send(topic: string, records: readonly LogRecord[]): Promise<LogPosition[]> {
    await this.connect();
    const partitions = await this.partitionCount(topic);
    const assigned = records.map((record) => partitionForKey(record.key, partitions));
    const metadata = await this.producer.send({
      topic,
      acks: -1,
      timeout: this.ackTimeoutMs,
      messages: records.map((record, index) => ({
        key: record.key,
        value: record.value,
        partition: assigned[index]!,
        ...(record.headers ? { headers: { ...record.headers } } : {}),
      })),
    });
    const nextOffset = new Map<number, number>();
    for (const entry of metadata) {
      if (entry.errorCode !== 0 || entry.baseOffset === undefined) {
        throw new Error(`Kafka rejected records for ${topic}[${entry.partition}] (error code ${entry.errorCode})`);
      }
      nextOffset.set(entry.partition, Number(entry.baseOffset));
    }
    return assigned.map((partition) => {
      const offset = nextOffset.get(partition);
      if (offset === undefined) throw new Error(`Kafka did not acknowledge ${topic}[${partition}]`);
      nextOffset.set(partition, offset + 1);
      return { topic, partition, offset };
    });
  }

  private async partitionCount(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = topics[0]?.partitions.length ?? 0;
      if (count < 1) throw new Error(`Topic ${topic} has no partitions; provision the topics first`);
      this.partitionCounts.set(topic, count);
      return count;
    } finally {
      await admin.disconnect();
    }
  }
}
