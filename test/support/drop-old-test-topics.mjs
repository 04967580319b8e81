// Deletes the topics of earlier integration-test runs (prefix mxtest-), keeping the current run's.
import { Kafka, logLevel } from 'kafkajs';

const keep = process.argv[2];
const kafka = new Kafka({ clientId: 'test-cleanup', brokers: process.env.MX_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
try {
  const old = (await admin.listTopics()).filter((topic) => topic.startsWith('mxtest-') && !topic.startsWith(`${keep}.`));
  if (old.length > 0) await admin.deleteTopics({ topics: old, timeout: 10_000 });
} finally {
  await admin.disconnect();
}
