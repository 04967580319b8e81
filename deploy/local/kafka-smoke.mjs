#!/usr/bin/env node
// Smoke test: kafkajs (the client the services use) against the local broker.
//
//   deploy/local/kafka.sh start
//   PATH="$(bash deploy/local/node.sh):$PATH" node deploy/local/kafka-smoke.mjs
//
// kafkajs is resolved from NODE_PATH / normal resolution; when missing it is
// installed once into $MX_LOCAL_DIR/tools/kafkajs (never into the repo's package.json).
// Checks: admin.createTopics (3 partitions), idempotent producer (acks -1),
// consumer-group join + eachBatch, consumer.seek, admin.fetchTopicOffsets,
// admin.fetchOffsets (committed group offsets). Exit 0 = all passed.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const KAFKAJS_VERSION = process.env.MX_KAFKAJS_VERSION ?? '2.2.4';
const here = path.dirname(fileURLToPath(import.meta.url));
const localDir = process.env.MX_LOCAL_DIR ?? path.resolve(here, '../../.local');
const broker = `127.0.0.1:${process.env.MX_KAFKA_PORT ?? '19092'}`;

function loadKafkajs() {
  const req = createRequire(import.meta.url); // honours NODE_PATH
  try {
    const mod = req('kafkajs');
    return { mod, where: path.dirname(req.resolve('kafkajs/package.json')) };
  } catch {}
  const dir = path.join(localDir, 'tools', `kafkajs-${KAFKAJS_VERSION}`);
  if (!existsSync(path.join(dir, 'node_modules', 'kafkajs'))) {
    console.log(`[smoke] installing kafkajs@${KAFKAJS_VERSION} into ${dir}`);
    execFileSync(
      'npm',
      ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `kafkajs@${KAFKAJS_VERSION}`],
      { stdio: 'inherit' },
    );
  }
  const req2 = createRequire(path.join(dir, 'package.json'));
  return { mod: req2('kafkajs'), where: path.dirname(req2.resolve('kafkajs/package.json')) };
}

const { mod: kafkajs, where } = loadKafkajs();
const { Kafka, logLevel, Partitioners } = kafkajs;
const kjsVersion = createRequire(import.meta.url)(path.join(where, 'package.json')).version;
console.log(`[smoke] node ${process.version}, kafkajs ${kjsVersion} (${where}), broker ${broker}`);
const kafka = new Kafka({
  clientId: 'mx-smoke',
  brokers: [broker],
  logLevel: process.env.SMOKE_DEBUG ? logLevel.DEBUG : logLevel.WARN,
});

const results = [];
const t0 = Date.now();
async function step(name, fn) {
  const s = Date.now();
  try {
    const detail = await fn();
    results.push({ name, ok: true });
    console.log(`[smoke] PASS ${name} (${Date.now() - s} ms)${detail ? ` - ${detail}` : ''}`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`[smoke] FAIL ${name} (${Date.now() - s} ms): ${err?.name}: ${err?.message}`);
    if (process.env.SMOKE_DEBUG) console.log(err);
    throw err;
  }
}
const assert = (cond, msg) => {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
};
const waitFor = async (cond, ms, what) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

const topic = `mx-smoke-${Date.now()}`;
const groupId = `mx-smoke-group-${Date.now()}`;
const N = 30;
const admin = kafka.admin();
// idempotent => kafkajs forces acks=-1 semantics and infinite retries (keep the default retry)
const producer = kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: Partitioners.DefaultPartitioner,
});
// maxWaitTimeInMs (fetch long-poll, kafkajs default 5000) bounds how fast seek()/stop() take effect
const consumer = kafka.consumer({
  groupId,
  sessionTimeout: 10000,
  heartbeatInterval: 1000,
  maxWaitTimeInMs: Number(process.env.SMOKE_MAX_WAIT_MS ?? 500),
});
const seen = []; // {partition, offset, value}
let exitCode = 0;

try {
  await step('admin.connect', () => admin.connect());
  await step('admin.createTopics (3 partitions)', async () => {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    assert(created === true, 'createTopics returned true');
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const n = md.topics[0].partitions.length;
    assert(n === 3, `3 partitions, got ${n}`);
    return `${topic}, ${n} partitions`;
  });

  await step('producer (idempotent, acks -1) send', async () => {
    await producer.connect();
    const messages = Array.from({ length: N }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }));
    const res = await producer.send({ topic, acks: -1, messages });
    const parts = new Set(res.map((r) => r.partition));
    assert(
      res.every((r) => r.errorCode === 0),
      'no error codes',
    );
    return `${N} msgs -> partitions [${[...parts].sort()}]`;
  });

  await step('consumer group join + eachBatch', async () => {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let joined = null;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      joined = e.payload;
    });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          seen.push({ partition: batch.partition, offset: Number(m.offset), value: m.value.toString() });
        }
      },
    });
    await waitFor(() => seen.length >= N, 20000, `${N} messages`);
    assert(joined, 'GROUP_JOIN event');
    const values = new Set(seen.map((s) => s.value));
    assert(values.size === N, `all ${N} distinct values, got ${values.size}`);
    return `leader=${joined.isLeader} assignment=${JSON.stringify(joined.memberAssignment)}; got ${seen.length}`;
  });

  await step('consumer.seek (replay partition from offset 0)', async () => {
    const p = seen[0].partition;
    const inP = seen.filter((s) => s.partition === p).length;
    const before = seen.length;
    consumer.seek({ topic, partition: p, offset: '0' });
    await waitFor(() => seen.length >= before + inP, 15000, `replay of ${inP} msgs of partition ${p}`);
    return `partition ${p}: ${inP} msgs re-delivered`;
  });

  await step('admin.fetchTopicOffsets', async () => {
    const offs = await admin.fetchTopicOffsets(topic);
    const total = offs.reduce((a, o) => a + Number(o.high) - Number(o.low), 0);
    assert(offs.length === 3, '3 partitions');
    assert(total === N, `sum(high-low) == ${N}, got ${total}`);
    return offs.map((o) => `p${o.partition}:${o.low}..${o.high}`).join(' ');
  });

  await step('admin.fetchOffsets (committed group offsets)', async () => {
    // offsets are committed asynchronously (autoCommitInterval) -> force a commit by stopping
    await consumer.stop();
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = t.partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0);
    assert(committed === N, `committed sum == ${N}, got ${committed}`);
    return t.partitions.map((p) => `p${p.partition}:${p.offset}`).join(' ');
  });

  await step('admin.deleteTopics (cleanup)', () => admin.deleteTopics({ topics: [topic] }));
} catch {
  exitCode = 1;
} finally {
  await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
}
const passed = results.filter((r) => r.ok).length;
console.log(`${passed} passed, ${results.length - passed} failed  (${Date.now() - t0} ms, broker ${broker})`);
process.exit(exitCode);
