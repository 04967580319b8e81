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

/**
 * Rebuilds the projection from the topics into a fresh schema, then either compares it with the
 * live projection (`verify`: exit 1 on any difference) or swaps it in (`rebuild`: stop the
 * projectors first; the old tables are kept in a backup schema). Batches are applied one at a time
 * by the projector's own code, so memory stays bounded whatever the topics' size.
 *
 *   node dist/apps/projector/src/replay/main.js verify|rebuild [--keep]
 */
const mode = process.argv[2];
if (mode !== 'verify' && mode !== 'rebuild') {
  process.stderr.write('usage: replay <verify|rebuild> [--keep]\n');
  process.exit(64);
}
const keep = process.argv.includes('--keep');
const live = process.env['MX_DATABASE_SCHEMA'] ?? 'public';
const schema = `replay_${Date.now().toString(36)}`;
process.env['MX_DATABASE_SCHEMA'] = schema;
process.env['MX_LOG_LEVEL'] ??= 'warn';
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
const started = Date.now();
const consumer = app.get<EventLogConsumerFactory>(EVENT_LOG_CONSUMER_FACTORY)({
  groupId: `${config.projector.groupId}.${schema}`,
  sessionTimeoutMs: config.projector.sessionTimeoutMs,
  heartbeatIntervalMs: Math.max(500, Math.floor(config.projector.sessionTimeoutMs / 10)),
  maxBytesPerPartition: 1024 * 1024,
});
await consumer.start({ topics, onBatch: (batch) => projectors[batch.topic]!(batch) });

const report = () => {
  const { done, total } = progress(goal);
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  process.stderr.write(`\rreplay: ${done}/${total} events, ${total - done} left, ${Math.round(done / seconds)} events/s   `);
  return done >= total;
};
for (let settled = 0; settled < 3;) {
  await new Promise((resolve) => setTimeout(resolve, 250));
  if (!report()) continue;
  // Caught up with the goal: check it has not moved (a quiet moment), a few times in a row.
  const next = await targets();
  const moved = [...next].some(([topic, ends]) => ends.some((end, partition) => end !== goal.get(topic)?.[partition]));
  goal = next;
  settled = moved ? 0 : settled + 1;
}
process.stderr.write('\n');
await consumer.stop();

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
process.exit(status);
