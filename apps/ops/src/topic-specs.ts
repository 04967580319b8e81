import type { AppConfig } from '@mx/config';
import type { TopicSpec } from '@mx/event-log';

/**
 * The topics, as code. Retention is unbounded so a fresh projection can always be rebuilt from
 * offset 0 (the topics are the source of truth); nothing is compacted away.
 */
export function topicSpecs(config: AppConfig): TopicSpec[] {
  const { partitions, replicationFactor } = config.topics;
  const retained = {
    'cleanup.policy': 'delete',
    'retention.ms': '-1',
    'retention.bytes': '-1',
    'min.insync.replicas': String(Math.min(2, replicationFactor)),
    'message.timestamp.type': 'CreateTime',
  };
  return [
    { name: config.topics.profile, partitions, replicationFactor, config: retained },
    { name: config.topics.membership, partitions, replicationFactor, config: retained },
  ];
}
