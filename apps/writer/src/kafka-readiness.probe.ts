import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { EVENT_LOG_ADMIN, type EventLogAdmin } from '@mx/event-log';
import type { ReadinessProbe } from '@mx/http';

/** Ready when the broker answers and our topics exist. */
@Injectable()
export class KafkaReadinessProbe implements ReadinessProbe {
  readonly name = 'kafka';

  constructor(
    @Inject(EVENT_LOG_ADMIN) private readonly admin: EventLogAdmin,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async check(): Promise<void> {
    const counts = await this.admin.partitionCounts([this.config.topics.profile]);
    if (counts.some((count) => count < 1)) throw new Error('topics are not provisioned');
  }
}
