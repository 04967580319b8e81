import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PinoLogger } from 'nestjs-pino';
import { Counter, Registry } from 'prom-client';
import { HomeserverClient, profileReadEventId } from '@mx/companion';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { encodeProfileTopicEvent, type ProfileFieldObserved } from '@mx/events';
import { findUnstorableJson } from '@mx/matrix';
import { companionProfileRepairs, Database } from '@mx/storage';
import { EventLogWriter } from '../event-log-writer.js';

/** A write still in flight this long after it was marked is looked at by the repairer. */
export const REPAIR_AFTER_MS = 10_000;
/** A failed write is repaired this soon. */
const REPAIR_FAILED_AFTER_MS = 1_000;
/** How often the repairer looks for due marks, and how long it leases one. */
const REPAIR_INTERVAL_MS = 2_000;
const REPAIR_LEASE_MS = 5_000;
const REPAIR_BATCH = 100;

/**
 * Companion mode: a profile change goes to the homeserver first, then to the log. Should the log
 * not take it (the broker down, a timeout, the writer dying in between), the homeserver holds a
 * value the projection does not. Nothing may diverge silently, so every such write is marked in
 * PostgreSQL before it reaches the homeserver and cleared once the log acknowledged it. A mark left
 * behind is repaired by any writer within seconds: it reads the homeserver's current value of the
 * field (GET /profile with the appservice's token) and appends it as a `profile.field.observed`
 * stamped with the time of that read, which the projector applies only when newer than the stored
 * value, so a repair never undoes a later write through the project. A repair that fails (the
 * broker still down, the homeserver unreachable) is tried again when its lease ends.
 */
@Injectable()
export class ProfileRepairs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly asToken: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    private readonly db: Database,
    private readonly homeserver: HomeserverClient,
    private readonly log: EventLogWriter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    registry: Registry,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(ProfileRepairs.name);
    if (!config.appservice) throw new Error('Companion mode needs MX_APPSERVICE_AS_TOKEN');
    this.asToken = config.appservice.asToken;
    this.outcomes = new Counter({
      name: 'mx_companion_profile_repairs_total',
      help: 'Profile writes the homeserver may hold but the log did not acknowledge, by how their repair ended: repaired (the homeserver value appended), failed (tried again later), unstorable (the homeserver value cannot be stored; left out)',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.repairDue()
        .then(() => undefined)
        .finally(() => (this.running = undefined));
    }, REPAIR_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Before the homeserver gets a change of (user, field): marks it. Resolves the write's id for `succeeded`/`failed`. */
  async beforeHomeserverWrite(userId: string, field: string): Promise<string> {
    const writeId = randomUUID();
    await companionProfileRepairs.mark(this.db, userId, field, writeId, Date.now() + REPAIR_AFTER_MS);
    return writeId;
  }

  /** The log acknowledged the change (or the homeserver refused it): nothing to repair. */
  async settled(userId: string, field: string, writeId: string): Promise<void> {
    try {
      await companionProfileRepairs.clear(this.db, userId, field, writeId);
    } catch (error) {
      // The mark stays: a needless repair appends the homeserver's value again, which is harmless.
      this.logger.warn({ err: error, userId, field }, 'could not clear a profile repair mark');
    }
  }

  /** The homeserver may hold the change, the log did not take it: repair it soon. */
  async failed(userId: string, field: string, writeId: string): Promise<void> {
    try {
      await companionProfileRepairs.mark(this.db, userId, field, writeId, Date.now() + REPAIR_FAILED_AFTER_MS);
    } catch (error) {
      // The earlier mark stays, due a little later.
      this.logger.warn({ err: error, userId, field }, 'could not bring a profile repair forward');
    }
  }

  /** One pass: every due mark (a batch at a time) repaired or left for its lease to end. */
  async repairDue(): Promise<number> {
    let repaired = 0;
    try {
      for (;;) {
        const due = await companionProfileRepairs.claimDue(this.db, Date.now(), REPAIR_LEASE_MS, REPAIR_BATCH);
        for (const repair of due) if (await this.repair(repair)) repaired++;
        if (due.length < REPAIR_BATCH) return repaired;
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'profile repairs could not be read; trying again shortly');
      return repaired;
    }
  }

  private async repair(repair: companionProfileRepairs.DueRepair): Promise<boolean> {
    const { userId, field } = repair;
    try {
      const readAt = Date.now();
      const answer = await this.homeserver.get(`/_matrix/client/v3/profile/${encodeURIComponent(userId)}/${encodeURIComponent(field)}`, {
        token: this.asToken,
        query: new URLSearchParams({ user_id: userId }),
      });
      let value: unknown;
      if (answer.status === 200) value = answer.body[field] ?? null;
      else if (answer.status === 404) value = null;
      else throw new Error(`the homeserver answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      const unstorable = findUnstorableJson(value);
      if (unstorable !== null) {
        // Never a record the projector cannot apply: such a value stays the homeserver's alone (companion-verify reports it).
        await companionProfileRepairs.clear(this.db, userId, field, repair.writeId);
        this.outcomes.inc({ outcome: 'unstorable' });
        this.logger.error(
          { userId, field, problem: unstorable },
          'the homeserver holds a profile value the projection cannot store; not repaired',
        );
        return false;
      }
      const event: ProfileFieldObserved = {
        v: 1,
        id: profileReadEventId('repair', userId, field, value, readAt),
        type: 'profile.field.observed',
        user_id: userId,
        field,
        value,
        ts: readAt,
      };
      await this.log.appendAcknowledged(this.config.topics.profile, [{ key: userId, value: encodeProfileTopicEvent(event) }]);
      await companionProfileRepairs.clear(this.db, userId, field, repair.writeId);
      this.outcomes.inc({ outcome: 'repaired' });
      this.logger.info({ userId, field, attempts: repair.attempts }, 'profile repaired from the homeserver');
      return true;
    } catch (error) {
      this.outcomes.inc({ outcome: 'failed' });
      this.logger.warn({ err: error, userId, field, attempts: repair.attempts }, 'profile repair failed; trying again later');
      return false;
    }
  }
}
