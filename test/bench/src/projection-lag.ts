import { isLoopbackHost } from './loopback.js';

/** One partition of one topic: Kafka's high watermark and the projection's position. */
export interface PartitionReading {
  readonly topic: string;
  readonly partition: number;
  readonly high: number;
  /** The projection's next offset (0 when the projector never committed the partition). */
  readonly position: number;
}

export interface LagReading {
  /** Records appended to the topics and not yet in the projection (Σ high watermark − projection position). */
  readonly lag: number;
  /** Σ projection positions: records the projection has taken in. */
  readonly projected: number;
}

/**
 * The projection's distance behind the topics, read from both sides (Kafka's high watermarks,
 * the positions the projector commits with its rows). Project-specific: used only by the
 * scale-out and hostile scenarios, never for the Client-Server API measurements.
 */
export class ProjectionLag {
  private constructor(
    private readonly admin: import('kafkajs').Admin,
    private readonly db: import('pg').Client,
    private readonly topics: readonly string[],
  ) {}

  static async connect(env: Readonly<Record<string, string>>): Promise<ProjectionLag> {
    const brokers = (env['MX_KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',');
    const dbHost = env['MX_DATABASE_HOST'] ?? '127.0.0.1';
    for (const host of [...brokers.map((broker) => broker.split(':')[0] ?? ''), dbHost])
      if (!isLoopbackHost(host)) throw new Error(`${host} is not on loopback`);
    const { Kafka, logLevel } = await import('kafkajs');
    const kafka = new Kafka({
      clientId: 'mx-bench-lag',
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 2000,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await admin.connect();
    const pg = await import('pg');
    const db = new pg.default.Client({
      host: dbHost,
      port: Number(env['MX_DATABASE_PORT'] ?? '5432'),
      database: env['MX_DATABASE_NAME'] ?? 'matrix',
      user: env['MX_DATABASE_USER'] ?? 'matrix',
      password: env['MX_DATABASE_PASSWORD'] ?? '',
      application_name: 'mx-bench-lag',
    });
    await db.connect();
    const prefix = env['MX_TOPIC_PREFIX'] ?? 'mx';
    return new ProjectionLag(admin, db, [`${prefix}.profile.v1`, `${prefix}.membership.v1`]);
  }

  /** The topics read: the profile topic, then the membership topic. */
  get topicNames(): readonly string[] {
    return this.topics;
  }

  /** One reading, or undefined while the broker or the database does not answer. */
  async read(): Promise<LagReading | undefined> {
    const partitions = await this.partitions();
    if (!partitions) return undefined;
    let lag = 0;
    let projected = 0;
    for (const { high, position } of partitions) {
      lag += Math.max(0, high - position);
      projected += position;
    }
    return { lag, projected };
  }

  /** Every partition of the topics with its high watermark and projection position, or undefined while either side does not answer. */
  async partitions(): Promise<PartitionReading[] | undefined> {
    try {
      const [highs, positions] = await Promise.all([
        Promise.all(this.topics.map(async (topic) => ({ topic, offsets: await this.admin.fetchTopicOffsets(topic) }))),
        this.db.query<{ topic: string; log_partition: number; next_offset: string }>(
          'SELECT topic, log_partition, next_offset::text AS next_offset FROM projection_positions',
        ),
      ]);
      const position = new Map(positions.rows.map((row) => [`${row.topic}/${row.log_partition}`, Number(row.next_offset)]));
      return highs.flatMap(({ topic, offsets }) =>
        offsets
          .map(({ partition, high }) => ({ topic, partition, high: Number(high), position: position.get(`${topic}/${partition}`) ?? 0 }))
          .sort((a, b) => a.partition - b.partition),
      );
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.admin.disconnect(), this.db.end()]);
  }
}
