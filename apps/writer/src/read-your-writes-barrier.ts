import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { LogPosition } from '@mx/event-log';
import { Database, ProjectionCommitListener, projectionPositions } from '@mx/storage';

/** A committed batch as announced: which of its offsets the projection refused. */
interface AnnouncedBatch {
  readonly fromOffset: number;
  readonly nextOffset: number;
  readonly rejected: ReadonlySet<number>;
}

/** Announced batches remembered per partition, to answer "was my record accepted?" without a query. */
const ANNOUNCED_BATCHES_KEPT = 512;

interface Waiter {
  readonly position: LogPosition;
  readonly wake: () => void;
}

/**
 * Read-your-writes: lets a write wait (bounded) until the projector has applied it, woken by the
 * projector's commit notifications rather than by polling. The positions the projector has
 * reached are kept in memory (read from the database whenever the listener (re)connects, then
 * advanced by every notification), so a write that waits costs no query in the steady state.
 */
@Injectable()
export class ReadYourWritesBarrier implements OnModuleInit, OnApplicationShutdown {
  private readonly waiters = new Set<Waiter>();
  private commits: ProjectionCommitListener | undefined;
  /** `topic/partition` → next offset the projection will apply; complete only while `synced`. */
  private readonly applied = new Map<string, number>();
  private synced = false;
  private readonly announced = new Map<string, AnnouncedBatch[]>();

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(ReadYourWritesBarrier.name);
  }

  async onModuleInit(): Promise<void> {
    this.commits = new ProjectionCommitListener(this.config.database, this.logger);
    this.commits.subscribe((event) => {
      if (event.kind === 'resync') {
        // Notifications may have been missed while disconnected: read the positions again.
        this.synced = false;
        void this.sync();
        return;
      }
      const { topic, partition, nextOffset, fromOffset, rejectedOffsets } = event.change;
      this.advance(topic, partition, nextOffset);
      if (fromOffset !== undefined && rejectedOffsets)
        this.remember(key(topic, partition), { fromOffset, nextOffset, rejected: new Set(rejectedOffsets) });
      for (const waiter of this.waiters) {
        const { position } = waiter;
        if (position.topic === topic && position.partition === partition && nextOffset > position.offset) waiter.wake();
      }
    });
    await this.commits.start();
    await this.sync();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const waiter of this.waiters) waiter.wake();
    await this.commits?.stop();
  }

  /** Resolves true once the projection includes `position`, false if `timeoutMs` passed first. */
  async waitUntilApplied(position: LogPosition, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const waiter: Waiter = { position, wake: () => wake() };
      this.waiters.add(waiter);
      let timer: NodeJS.Timeout | undefined;
      try {
        if (await this.includes(position)) return true;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return (await this.appliedUpTo(position)) > position.offset;
        await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
      } finally {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      }
    }
  }

  /**
   * True when an announced batch covered `position` and did not list it as refused: the record was
   * accepted, no need to look in rejected_events. False when unknown (not heard, or announced
   * without its rejections).
   */
  knownAccepted(position: LogPosition): boolean {
    const batches = this.announced.get(key(position.topic, position.partition)) ?? [];
    for (let i = batches.length - 1; i >= 0; i -= 1) {
      const batch = batches[i]!;
      if (position.offset >= batch.fromOffset && position.offset < batch.nextOffset) return !batch.rejected.has(position.offset);
    }
    return false;
  }

  private remember(slot: string, batch: AnnouncedBatch): void {
    const batches = this.announced.get(slot) ?? [];
    batches.push(batch);
    if (batches.length > ANNOUNCED_BATCHES_KEPT) batches.splice(0, batches.length - ANNOUNCED_BATCHES_KEPT);
    this.announced.set(slot, batches);
  }

  /** From memory while every notification since the last read of the positions has been heard; otherwise from the database. */
  private async includes(position: LogPosition): Promise<boolean> {
    if ((this.applied.get(key(position.topic, position.partition)) ?? 0) > position.offset) return true;
    if (this.synced) return false;
    return (await this.appliedUpTo(position)) > position.offset;
  }

  private async sync(): Promise<void> {
    try {
      for (const position of await projectionPositions.all(this.db)) this.advance(position.topic, position.partition, position.nextOffset);
      this.synced = true;
    } catch (error) {
      // Waiters keep reading the database until the next (re)connect syncs again.
      this.logger.warn({ err: error }, 'could not read the projection positions');
    }
    for (const waiter of this.waiters) waiter.wake();
  }

  private advance(topic: string, partition: number, nextOffset: number): void {
    const slot = key(topic, partition);
    if ((this.applied.get(slot) ?? 0) < nextOffset) this.applied.set(slot, nextOffset);
  }

  private appliedUpTo(position: LogPosition): Promise<number> {
    return projectionPositions.nextOffset(this.db, position.topic, position.partition);
  }
}

function key(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}
