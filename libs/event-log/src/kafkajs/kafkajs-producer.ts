import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { type EventLogProducer, EventLogRecordsTooLargeError, type LogPosition, type LogRecord } from '../event-log.port.js';
import { AppendCoalescer } from '../append-coalescer.js';
import { partitionForKey } from '../murmur2-partitioner.js';
import { MAX_PARTITION_BATCH_BYTES, recordBatchBytes } from '../record-batch-size.js';

/** One record, its topic and the partition chosen for it. */
interface OutgoingRecord {
  readonly topic: string;
  readonly partition: number;
  readonly record: LogRecord;
}

/** Most bytes of record values in one produce request (the broker's default message.max.bytes is ~1 MiB per partition batch). */
const MAX_REQUEST_BYTES = 512 * 1024;

/** Kafka's error types (kafkajs names) for records the broker refuses for their size. */
const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/** The same errors by protocol code (10: MESSAGE_TOO_LARGE, 18: RECORD_LIST_TOO_LARGE). */
const TOO_LARGE_CODES = new Set([10, 18]);

/** Whether kafkajs failed because the broker refused records as too large (the error or one of its causes). */
export function isKafkaTooLargeError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const { type, code, cause } = current as { type?: unknown; code?: unknown; cause?: unknown };
    if ((typeof type === 'string' && TOO_LARGE_TYPES.has(type)) || (typeof code === 'number' && TOO_LARGE_CODES.has(code))) return true;
    current = cause;
  }
  return false;
}

/**
 * Idempotent, acks=all producer. Records are partitioned here (Kafka's murmur2 of the key) so
 * that each record's offset is known exactly from the broker's per-partition base offsets.
 * Concurrent appends are coalesced into one produce request while the previous one is in flight
 * (an idempotent producer has one request in flight at a time).
 */
export class KafkajsProducer implements EventLogProducer {
  private readonly producer: Producer;
  private readonly partitionCounts = new Map<string, number>();
  private connection: Promise<void> | undefined;
  private readonly coalescer = new AppendCoalescer<OutgoingRecord, LogPosition>((records) => this.produce(records), {
    maxWeight: MAX_REQUEST_BYTES,
    weight: (outgoing) => outgoing.record.value.length + outgoing.record.key.length,
  });

  constructor(
    private readonly kafka: Kafka,
    private readonly ackTimeoutMs: number,
    /** Most bytes of one partition's records in one append (see MAX_PARTITION_BATCH_BYTES). */
    private readonly maxPartitionBatchBytes = MAX_PARTITION_BATCH_BYTES,
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
   * Rejects with EventLogRecordsTooLargeError, before sending anything, when one partition's
   * records would not fit one batch, and when the broker refuses records for their size.
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
    const outgoing = records.map((record) => ({ topic, partition: partitionForKey(record.key, partitions), record }));
    this.assertFits(outgoing);
    return this.coalescer.submit(outgoing);
  }

  /**
   * Refuses an append when the records of one of its partitions would not fit one batch: the
   * broker would refuse it however often it is retried. (Appends coalesced together stay within
   * MAX_REQUEST_BYTES, well below the limit, so only a single append can be too large.)
   */
  private assertFits(outgoing: readonly OutgoingRecord[]): void {
    if (recordBatchBytes(outgoing.map(({ record }) => record)) <= this.maxPartitionBatchBytes) return;
    const byPartition = new Map<number, LogRecord[]>();
    for (const { partition, record } of outgoing) {
      const list = byPartition.get(partition) ?? [];
      list.push(record);
      byPartition.set(partition, list);
    }
    for (const [partition, list] of byPartition) {
      const bytes = recordBatchBytes(list);
      if (bytes > this.maxPartitionBatchBytes) {
        const topic = outgoing[0]!.topic;
        throw new EventLogRecordsTooLargeError(
          `${list.length} records for ${topic}[${partition}] take up to ${bytes} bytes; one batch may hold ${this.maxPartitionBatchBytes}`,
          bytes,
          this.maxPartitionBatchBytes,
        );
      }
    }
  }

  /** One produce request for records of any topics; each record's offset follows from its partition's base offset. */
  private async produce(records: readonly OutgoingRecord[]): Promise<LogPosition[]> {
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const outgoing of records) {
      const list = byTopic.get(outgoing.topic) ?? [];
      list.push(outgoing);
      byTopic.set(outgoing.topic, list);
    }
    let metadata: Awaited<ReturnType<Producer['sendBatch']>>;
    try {
      metadata = await this.producer.sendBatch({
        acks: -1,
        timeout: this.ackTimeoutMs,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map(({ partition, record }) => ({
            key: record.key,
            value: record.value,
            partition,
            ...(record.headers ? { headers: { ...record.headers } } : {}),
          })),
        })),
      });
    } catch (error) {
      if (isKafkaTooLargeError(error))
        throw new EventLogRecordsTooLargeError('Kafka refused the records as too large', undefined, undefined, { cause: error });
      throw error;
    }
    const nextOffset = new Map<string, number>();
    for (const entry of metadata) {
      if (TOO_LARGE_CODES.has(entry.errorCode)) {
        throw new EventLogRecordsTooLargeError(`Kafka refused the records for ${entry.topicName}[${entry.partition}] as too large`);
      }
      if (entry.errorCode !== 0 || entry.baseOffset === undefined) {
        throw new Error(`Kafka rejected records for ${entry.topicName}[${entry.partition}] (error code ${entry.errorCode})`);
      }
      nextOffset.set(`${entry.topicName}/${entry.partition}`, Number(entry.baseOffset));
    }
    // Within a topic-partition the broker assigns offsets in the order the records were sent, which is input order.
    return records.map(({ topic, partition }) => {
      const slot = `${topic}/${partition}`;
      const offset = nextOffset.get(slot);
      if (offset === undefined) throw new Error(`Kafka did not acknowledge ${slot}`);
      nextOffset.set(slot, offset + 1);
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
