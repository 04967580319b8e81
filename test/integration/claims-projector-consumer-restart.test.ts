import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssignerProtocol, type Consumer, type PartitionAssigner } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createKafkaClient } from '@mx/event-log';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { request, uniqueLocalpart } from '../support/matrix-client.js';
import { logFrom, logSize, metricValue, until } from '../support/observe.js';
import { freshDatabase, setUpFor } from '../support/own-infra.js';
import type { ServiceProcess } from '../support/service-process.js';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * Commit 9815eac / README: the projector restarts a consumer that kafkajs crashed with a
 * non-retriable error and will not restart itself. The real, deterministic trigger: a consumer
 * group's members must share an assignment protocol; a member whose protocols none of the current
 * members support is refused with INCONSISTENT_GROUP_PROTOCOL, which kafkajs treats as
 * non-retriable (CRASH with restart=false, node_modules/kafkajs/src/consumer/index.js).
 *
 * A projector of this test's own (own database, topics and group, on the shared broker) consumes;
 * it is frozen (SIGSTOP) until the broker expires its session, and a member of this test's own,
 * supporting only a protocol of its own, takes the group. Resumed (SIGCONT), the projector must
 * rejoin and is refused: kafkajs crashes its consumer non-retriably, and does not restart it. Any
 * crash logged after that one is a crash of a fresh start of the consumer, which only the projector's
 * own restart can have made (each start crashes at most once); the refusals go on while the foreign
 * member holds the group.
 * Once the foreign member leaves, the projector consumes again: a write through the writer is applied.
 */
const PORTS = PORT_OFFSETS.claimsProjectorConsumerRestart;
const FOREIGN_PROTOCOL = 'ClaimsForeignAssigner';
const INCOMPATIBLE = "The group member's supported protocols are incompatible with those of existing members";

/** An assignor no projector speaks: a group holding only this member refuses the projector's join. */
const foreignAssigner: PartitionAssigner = () => ({
  name: FOREIGN_PROTOCOL,
  version: 0,
  assign: ({ members }) =>
    Promise.resolve(
      members.map((member) => ({
        memberId: member.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: {}, userData: Buffer.alloc(0) }),
      })),
    ),
  protocol: ({ topics }) => ({
    name: FOREIGN_PROTOCOL,
    metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
  }),
});

describe('claim: the projector restarts a consumer kafkajs gave up on', () => {
  const stack = inject('stack');
  const database = `matrix_test_claims_restart_${stack.portBase}`;
  const prefix = `mxtest-${Date.now().toString(36)}.claims-restart`;
  const env: Record<string, string> = {
    ...stack.env,
    MX_DATABASE_NAME: database,
    MX_TOPIC_PREFIX: prefix,
    // The shortest session the broker allows: a frozen projector leaves the group soon.
    MX_PROJECTOR_SESSION_TIMEOUT_MS: '6000',
    // Writes wait for the projection as long as it takes the projector to be back.
    MX_READ_YOUR_WRITES_TIMEOUT_MS: '60000',
  };
  const groupId = `${prefix}.projector`;
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const kafka = createKafkaClient(
    {
      clientId: 'test-claims-foreign',
      brokers: env['MX_KAFKA_BROKERS']!.split(','),
      ssl: false,
      connectionTimeoutMs: 3000,
      requestTimeoutMs: 10_000,
    },
    quiet,
  );
  const projectorLog = join(stack.logDir, 'projector-claims-restart.log');
  let writer: ServiceProcess;
  let projector: ServiceProcess;
  let projectorPid = 0;
  let foreign: Consumer | undefined;

  beforeAll(async () => {
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-claims-restart', PORTS.writer, env);
    projector = extraService('projector', 'projector-claims-restart', PORTS.projector, env);
    writer.start();
    projector.start();
    await Promise.all([writer.waitReady(), projector.waitReady()]);
    projectorPid = Number(readFileSync(`${projectorLog}.pid`, 'utf8'));
  }, 120_000);

  afterAll(async () => {
    try {
      if (projectorPid > 0) process.kill(projectorPid, 'SIGCONT');
    } catch {
      // already gone
    }
    await foreign?.disconnect();
    await Promise.all([writer.stop(), projector.stop()]);
  }, 60_000);

  /** Joins the group with the foreign protocol; refused (a crash) while a projector is still a member, so tried again until accepted. */
  async function takeGroup(): Promise<Consumer> {
    return until(
      'the foreign member to hold the group',
      async () => {
        const consumer = kafka.consumer({ groupId, partitionAssigners: [foreignAssigner], sessionTimeout: 30_000 });
        const outcome = new Promise<'joined' | 'refused'>((resolve) => {
          consumer.on(consumer.events.GROUP_JOIN, () => resolve('joined'));
          consumer.on(consumer.events.CRASH, () => resolve('refused'));
        });
        await consumer.connect();
        await consumer.subscribe({ topics: [`${prefix}.profile.v1`] });
        await consumer.run({ eachMessage: () => Promise.resolve() });
        if ((await outcome) === 'joined') return consumer;
        await consumer.disconnect();
        return undefined;
      },
      90_000,
    );
  }

  it('crashed non-retriably by a refused group join, it restarts its consumer and consumes again', async () => {
    const registered = await request<{ user_id: string; access_token: string }>('POST', `${CLIENT_V3}/register`, {
      baseUrl: writer.url,
      body: { username: uniqueLocalpart('restart'), password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    expectStatus(registered, 200);
    const { user_id: userId, access_token: token } = registered.body;
    const put = (zone: string) => request('PUT', profilePath(userId, 'm.tz'), { baseUrl: writer.url, token, body: { 'm.tz': zone } });
    const applied = async () =>
      (await metricValue(projector.url, 'mx_projector_events_applied_total', `topic="${prefix}.profile.v1"`)) ?? 0;
    // Consuming: the write is applied by this projector.
    expectStatus(await put('UTC'), 200);
    expect(await applied()).toBe(1);

    // Frozen, the projector misses its heartbeats; the broker drops it from the group and the foreign member takes it.
    process.kill(projectorPid, 'SIGSTOP');
    const logStart = logSize(projectorLog);
    foreign = await takeGroup();
    process.kill(projectorPid, 'SIGCONT');

    // Refused on rejoining: kafkajs crashes the consumer non-retriably ("Crash: KafkaJSProtocolError", or
    // "Crash: KafkaJSNonRetriableError" from inside its retrier), then a restarted consumer crashes again.
    const restartedAfterNonRetriableCrash = () => {
      const lines = logFrom(projectorLog, logStart).split('\n');
      const giveUp = lines.findIndex(
        (line) => /Crash: KafkaJS(ProtocolError|NonRetriableError): /.test(line) && line.includes(INCOMPATIBLE),
      );
      return giveUp >= 0 && lines.slice(giveUp + 1).some((line) => line.includes('Crash: ')) ? true : undefined;
    };
    await until('a crash of the projector’s consumer after a non-retriable one', restartedAfterNonRetriableCrash, 90_000);
    expect(await applied()).toBe(1);
    // Out of its group, the projector is not ready (the projection stands still) though it lives.
    expect((await fetch(`${projector.url}/health/ready`)).status).toBe(503);
    expect((await fetch(`${projector.url}/health/live`)).status).toBe(200);

    // The foreign member leaves: the projector's next start joins, and it consumes again.
    await foreign.disconnect();
    foreign = undefined;
    expectStatus(await put('Asia/Tokyo'), 200);
    expect((await request('GET', profilePath(userId, 'm.tz'), { baseUrl: writer.url })).body).toEqual({ 'm.tz': 'Asia/Tokyo' });
    expect(await applied()).toBe(2);
    expect((await fetch(`${projector.url}/health/ready`)).status).toBe(200);
  }, 180_000);
});
