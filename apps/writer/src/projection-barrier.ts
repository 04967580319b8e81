import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { LogPosition } from '@mx/event-log';
import { ProjectionFollower } from '@mx/storage';

interface Waiter {
  readonly position: LogPosition;
  readonly wake: () => void;
}

/**
 * Read-your-writes: lets a write wait (bounded) until the projector has applied it, woken by the
 * projector's commit notifications rather than by polling.
 */
@Injectable()
export class ProjectionBarrier implements OnModuleInit, OnApplicationShutdown {
  private readonly waiters = new Set<Waiter>();
  private follower: ProjectionFollower | undefined;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(ProjectionBarrier.name);
  }

  async onModuleInit(): Promise<void> {
    this.follower = new ProjectionFollower(this.config.database, this.logger);
    this.follower.subscribe((event) => {
      for (const waiter of this.waiters) {
        const { position } = waiter;
        if (
          event.kind === 'resync' ||
          (event.change.topic === position.topic &&
            event.change.partition === position.partition &&
            event.change.nextOffset > position.offset)
        ) {
          waiter.wake();
        }
      }
    });
    await this.follower.start();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const waiter of this.waiters) waiter.wake();
    await this.follower?.stop();
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
        if ((await this.appliedUpTo(position)) > position.offset) return true;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return false;
        await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))]);
      } finally {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      }
    }
  }

  private async appliedUpTo(position: LogPosition): Promise<number> {
    const rows: { next_offset: string }[] = await this.dataSource.query(
      'SELECT next_offset FROM projection_positions WHERE topic = $1 AND log_partition = $2',
      [position.topic, position.partition],
    );
    return Number(rows[0]?.next_offset ?? 0);
  }
}
