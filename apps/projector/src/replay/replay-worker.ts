import 'reflect-metadata';
import { parentPort } from 'node:worker_threads';
import { NestFactory } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { RecordBatch } from '@mx/event-log';
import { ProfileProjector } from '../profile/profile-projector.js';
import { ProjectorModule } from '../projector.module.js';
import { ResumePositions } from '../resume-positions.js';
import { RoomProjector } from '../rooms/room-projector.js';
import { applyWithRetry } from './replay-dispatcher.js';
import { type FromWorker, type ToWorker, warnRetry } from './replay-lanes.js';
import { unpackBatch } from './record-batch-transfer.js';

/**
 * A replay worker thread (see WorkerLane): a projector of its own, in the replay's schema (the
 * environment the replay set up), applying the batches posted to it one at a time, in order.
 */
const port = parentPort;
if (port === null) throw new Error('replay-worker runs as a worker thread of the replay command');

let closing = false;
let tail: Promise<void> = Promise.resolve();
// Batches posted before the projector is ready wait in order behind it.
const ready = NestFactory.createApplicationContext(ProjectorModule, { logger: ['error', 'warn'] });

port.on('message', (message: ToWorker) => {
  tail = tail.then(() =>
    message.type === 'batch'
      ? applyOne(
          message.id,
          unpackBatch(message.batch, () => closing),
        )
      : close(),
  );
});

async function applyOne(id: number, batch: RecordBatch): Promise<void> {
  const app = await ready;
  const config = app.get<AppConfig>(APP_CONFIG);
  const apply =
    batch.topic === config.topics.profile
      ? (each: RecordBatch) => app.get(ProfileProjector).applyBatch(each)
      : (each: RecordBatch) => app.get(RoomProjector).applyBatch(each);
  await applyWithRetry(
    () => apply(batch),
    (error, attempt, delayMs) => warnRetry(batch, error, attempt, delayMs),
  );
  const position = app.get(ResumePositions).resumeOffset(batch.topic, batch.partition) ?? -1;
  port!.postMessage({ type: 'applied', id, position } satisfies FromWorker);
}

async function close(): Promise<void> {
  closing = true;
  await (await ready).close();
  port!.close();
}
