/**
 * The event log as the services see it: append, consume by partition, provision topics.
 * Kafka (through kafkajs) is the one implementation; nothing outside this library imports kafkajs.
 */

export interface LogRecord {
  /** Partition key: every record with the same key lands in the same partition, in order. */
  readonly key: string;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Where the log stored a record. */
export interface LogPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface EventLogProducer {
  connect(): Promise<void>;
  /**
   * Appends records durably (acknowledged by all in-sync replicas, idempotent producer) and
   * resolves with the position of each record, in input order. Rejects when the broker did not
   * acknowledge them, and with EventLogRecordsTooLargeError when the records cannot fit the log.
   */
  append(topic: string, records: readonly LogRecord[]): Promise<LogPosition[]>;
  disconnect(): Promise<void>;
}

/**
 * The records of an append are too large for the log: checked before anything is sent (the
 * records of one partition must fit one batch of the broker's maximum message size), or refused
 * by the broker for their size. Retrying the same records can never succeed; a caller should
 * answer with a client error, not a retryable one.
 */
export class EventLogRecordsTooLargeError extends Error {
  constructor(
    message: string,
    /** Encoded size of the largest partition batch of the append, when known. */
    readonly bytes?: number,
    /** The most bytes one partition batch may hold, when known. */
    readonly limitBytes?: number,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EventLogRecordsTooLargeError';
  }
}

export interface ConsumedRecord {
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
}

export interface RecordBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ConsumedRecord[];
  /** The partition's end (next offset to be written) when the batch was fetched: lag = end − next. */
  readonly highWatermark: number;
  /** True once this consumer no longer owns the partition (revoked, rebalancing or stopping). */
  isStale(): boolean;
}

export interface ConsumeOptions {
  readonly topics: readonly string[];
  /** Called once per fetched batch of one partition; the next batch of that partition waits for it. */
  readonly onBatch: (batch: RecordBatch) => Promise<void>;
  /**
   * Called synchronously for every partition assigned to this consumer: returns the offset to
   * resume from (the projection's own position), or undefined to use the group's committed offset.
   */
  readonly resumeOffset?: (topic: string, partition: number) => number | undefined;
}

export interface EventLogConsumer {
  start(options: ConsumeOptions): Promise<void>;
  stop(): Promise<void>;
  /** True while a member of its group (partitions assigned or not); false before the first join and after a crash until it rejoins. */
  isConsuming(): boolean;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
}

export interface TopicProvisioningResult {
  readonly created: readonly string[];
  readonly existing: readonly string[];
}

export interface EventLogAdmin {
  /** Creates the topics that do not exist; never changes or deletes existing ones. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<TopicProvisioningResult>;
  /** Partition count of each topic, in the order asked. */
  partitionCounts(topics: readonly string[]): Promise<number[]>;
  /** The next offset to be written (high watermark) of each partition, in partition order. */
  endOffsets(topic: string): Promise<number[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  close(): Promise<void>;
}
