import type { Admin, Kafka } from 'kafkajs';
import type { EventLogAdmin, TopicProvisioningResult, TopicSpec } from '../event-log.port.js';

export class KafkajsAdmin implements EventLogAdmin {
  private readonly admin: Admin;
  private connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<TopicProvisioningResult> {
    await this.connect();
    const existingNames = new Set(await this.admin.listTopics());
    const missing = specs.filter((spec) => !existingNames.has(spec.name));
    if (missing.length > 0) {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    return {
      created: missing.map((spec) => spec.name),
      existing: specs.filter((spec) => existingNames.has(spec.name)).map((spec) => spec.name),
    };
  }

  async partitionCounts(topics: readonly string[]): Promise<number[]> {
    await this.connect();
    const { topics: metadata } = await this.admin.fetchTopicMetadata({ topics: [...topics] });
    return topics.map((name) => metadata.find((topic) => topic.name === name)?.partitions.length ?? 0);
  }

  async endOffsets(topic: string): Promise<number[]> {
    await this.connect();
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return [...offsets].sort((a, b) => a.partition - b.partition).map((entry) => Number(entry.high));
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.connect();
    await this.admin.deleteTopics({ topics: [...topics] });
  }

  async listTopics(): Promise<string[]> {
    await this.connect();
    return this.admin.listTopics();
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
    this.connected = undefined;
  }

  private connect(): Promise<void> {
    this.connected ??= this.admin.connect();
    return this.connected;
  }
}
