// Deletes the topics of earlier integration-test runs (prefix mxtest-<base-36 start time>) that
// started over an hour ago, so a run never deletes the topics of another run still going.
import { Kafka, logLevel } from 'kafkajs';
// The project's fix of kafkajs's request queue (a negative timeout, re-armed every millisecond).
import { fixKafkajsRequestQueue } from '../../dist/libs/event-log/src/kafkajs/request-queue-fix.js';

fixKafkajsRequestQueue();

const keep = process.argv[2];
const kafka = new Kafka({ clientId: 'test-cleanup', brokers: process.env.MX_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
try {
  const hourAgo = Date.now() - 60 * 60 * 1000;
  const old = (await admin.listTopics()).filter((topic) => {
    const match = /^mxtest-([0-9a-z]+)\./.exec(topic);
    return match !== null && !topic.startsWith(`${keep}.`) && parseInt(match[1], 36) < hourAgo;
  });
  if (old.length > 0) await admin.deleteTopics({ topics: old, timeout: 10_000 });
} finally {
  await admin.disconnect();
}
