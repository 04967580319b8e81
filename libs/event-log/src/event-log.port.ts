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
   * acknowledge them.
   */
  append(topic: string, records: readonly LogRecord[]): Promise<LogPosition[]>;
  disconnect(): Promise<void>;
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
