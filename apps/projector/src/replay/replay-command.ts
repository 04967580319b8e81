import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import {
  EVENT_LOG_ADMIN,
  EVENT_LOG_CONSUMER_FACTORY,
  type EventLogAdmin,
  type EventLogConsumerFactory,
  type RecordBatch,
} from '@mx/event-log';
import { loadConfigOrExit } from '@mx/http';
import { Database, dropSchema, openDatabase, projectionChecksums, projectionPositions, runMigrations, swapInProjection } from '@mx/storage';
import { ProfileProjector } from '../profile/profile-projector.js';
import { PROJECTOR_DEFAULTS } from '../projector.defaults.js';
import { ProjectorModule } from '../projector.module.js';
import { ResumePositions } from '../resume-positions.js';
import { RoomProjector } from '../rooms/room-projector.js';
import { type ApplyLane, ReplayDispatcher } from './replay-dispatcher.js';
import { InProcessLane, type WorkerLane } from './replay-lanes.js';

/**
 * Records fetched per partition and per fetch: big batches, so few transactions (the live
 * projector fetches 1 MiB per partition; measured on the benchmark's data, 1 MiB batches cost
 * PostgreSQL about 1.6 times the CPU, and 8 MiB ones were no faster than these but held more memory).
 */
const MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;
const MAX_BYTES_PER_FETCH = 16 * 1024 * 1024;
/** Fetched batches handed to the lanes and not yet applied (their values and keys), at most. */
const MAX_PENDING_BYTES = 32 * 1024 * 1024;

export interface ReplayOptions {
  readonly mode: 'verify' | 'rebuild';
  /** Keep the replayed schema (verify) instead of dropping it. */
  readonly keep: boolean;
  /** The live projection's schema. */
  readonly live: string;
  /** The fresh schema the replay builds (MX_DATABASE_SCHEMA is already set to it). */
  readonly schema: string;
  /** The worker threads applying the batches; none: this thread applies them. */
  readonly workers: readonly WorkerLane[];
}

/**
 * The replay command (see main.ts): replays the topics into `schema`, then verifies or swaps in.
 * Memory stays bounded whatever the topics' size: one fetch (MAX_BYTES_PER_FETCH) being handed
 * over, at most MAX_PENDING_BYTES (and one batch) waiting in the lanes, and a batch being applied
 * per lane. Resolves with the exit status: 0 (matches, or rebuilt), 1 (differs); exits 2 itself
 * when the replay cannot complete.
 */
export async function replay({ mode, keep, live, schema, workers }: ReplayOptions): Promise<number> {
  const config = loadConfigOrExit(PROJECTOR_DEFAULTS);
  await runMigrations(config.database);

  const app = await NestFactory.createApplicationContext(ProjectorModule, { logger: ['error', 'warn'] });
  const admin = app.get<EventLogAdmin>(EVENT_LOG_ADMIN);
  const positions = app.get(ResumePositions);
  // The replay's own projection (the Nest context's pool, in the replay schema), and the live one.
  const db = app.get(Database);
  const liveProjection = await openDatabase({ ...config.database, schema: live, poolSize: 1 });
  const projectors: Record<string, (batch: RecordBatch) => Promise<void>> = {
    [config.topics.profile]: (batch) => app.get(ProfileProjector).applyBatch(batch),
    [config.topics.membership]: (batch) => app.get(RoomProjector).applyBatch(batch),
  };
  const topics = Object.keys(projectors);

  /** Where the replay must get to: the topics' ends, or the live projection's positions if further. */
  async function targets(): Promise<Map<string, number[]>> {
    const result = new Map<string, number[]>();
    const livePositions = await projectionPositions.all(liveProjection.db);
    for (const topic of topics) {
      const ends = await admin.endOffsets(topic);
      for (const position of livePositions)
        if (position.topic === topic && position.partition < ends.length)
          ends[position.partition] = Math.max(ends[position.partition]!, position.nextOffset);
      result.set(topic, ends);
    }
    return result;
  }

  const progress = (goal: Map<string, number[]>) => {
    let done = 0;
    let total = 0;
    for (const [topic, ends] of goal) {
      ends.forEach((end, partition) => {
        total += end;
        done += Math.min(end, positions.resumeOffset(topic, partition) ?? 0);
      });
    }
    return { done, total };
  };

  let goal = await targets();
  const lanes: ApplyLane[] =
    workers.length > 0
      ? [...workers]
      : [
          new InProcessLane(
            (batch) => projectors[batch.topic]!(batch),
            (topic, partition) => positions.resumeOffset(topic, partition),
          ),
        ];
  // The lanes report each partition's position after each batch they applied.
  const dispatcher = new ReplayDispatcher(lanes, MAX_PENDING_BYTES, (topic, partition, position) =>
    positions.remember(topic, partition, position),
  );
  // Where this run started reading each partition.
  const firstOffsets = new Map<string, number>();
  const started = Date.now();
  const consumer = app.get<EventLogConsumerFactory>(EVENT_LOG_CONSUMER_FACTORY)({
    groupId: `${config.projector.groupId}.${schema}`,
    sessionTimeoutMs: config.projector.sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(500, Math.floor(config.projector.sessionTimeoutMs / 10)),
    maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
    maxBytes: MAX_BYTES_PER_FETCH,
  });
  await consumer.start({
    topics,
    onBatch: (batch) => {
      const key = `${batch.topic}\u0000${batch.partition}`;
      if (!firstOffsets.has(key) && batch.records.length > 0) firstOffsets.set(key, batch.records[0]!.offset);
      return dispatcher.dispatch(batch);
    },
    // A batch is handed over before it is applied, so the group's committed offset may be past what
    // is applied: after a rejoin, read again from what is applied (or from where this run started);
    // the batch transaction skips the records already applied.
    resumeOffset: (topic, partition) => positions.resumeOffset(topic, partition) ?? firstOffsets.get(`${topic}\u0000${partition}`),
  });

  /** The replay cannot complete (a worker failed): says why and exits 2, leaving the scratch schema for a look. */
  const abort = async (error: unknown): Promise<never> => {
    process.stderr.write(`\nreplay failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.stderr.write(`replay: the partial projection is left in schema ${schema}\n`);
    await Promise.allSettled([consumer.stop(), ...workers.map((worker) => worker.close(5000))]);
    process.exit(2);
  };

  const report = () => {
    const { done, total } = progress(goal);
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    process.stderr.write(`\rreplay: ${done}/${total} events, ${total - done} left, ${Math.round(done / seconds)} events/s   `);
    return done >= total;
  };
  for (let settled = 0; settled < 3;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (dispatcher.error) await abort(dispatcher.error.error);
    if (!report()) continue;
    // Caught up with the goal: check it has not moved (a quiet moment), a few times in a row.
    const next = await targets();
    const moved = [...next].some(([topic, ends]) => ends.some((end, partition) => end !== goal.get(topic)?.[partition]));
    goal = next;
    settled = moved ? 0 : settled + 1;
  }
  process.stderr.write('\n');
  await consumer.stop();
  await dispatcher.drained().catch(abort);
  await Promise.all(workers.map((worker) => worker.close()));

  let status = 0;
  if (mode === 'verify') {
    const [ours, theirs] = await Promise.all([projectionChecksums(db, schema), projectionChecksums(db, live)]);
    for (const sum of ours) {
      const other = theirs.find((each) => each.table === sum.table);
      const same = other?.rows === sum.rows && other.checksum === sum.checksum;
      if (!same) status = 1;
      process.stdout.write(`${same ? 'match' : 'DIFFERS'} ${sum.table}: live ${other?.rows ?? 0} rows, replay ${sum.rows} rows\n`);
    }
    process.stdout.write(
      status === 0 ? 'verify: the live projection matches a replay of the topics\n' : 'verify: the live projection differs from a replay\n',
    );
  } else {
    const backup = `projection_backup_${Date.now().toString(36)}`;
    await swapInProjection(db, schema, live, backup);
    process.stdout.write(`rebuild: the replayed projection is live; the old tables are in schema ${backup}\n`);
  }
  if (!keep) await dropSchema(db, schema);
  await liveProjection.close();
  await app.close();
  return status;
}
