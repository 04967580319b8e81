import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { AccessTokenService } from '@mx/auth';
import { LongPollRegistry, type ParkedLongPoll } from './long-poll-registry.js';

/**
 * The long-polls parked on this replica, told of every access-token deletion this replica hears
 * (the database's `mx_access_tokens` NOTIFY, from a logout on any writer or from plain SQL; or
 * "anything may be gone" when the listener reconnects), so a long-poll whose token is deleted
 * ends with 401 instead of answering later with data.
 */
@Injectable()
export class LongPolls implements OnModuleInit, OnModuleDestroy {
  private readonly registry: LongPollRegistry;
  private unsubscribe: (() => void) | undefined;
  private readonly endedEarly: Counter<'reason'>;

  constructor(
    private readonly tokens: AccessTokenService,
    metrics: Registry,
  ) {
    this.endedEarly = new Counter({
      name: 'mx_sync_long_polls_ended_early_total',
      help: 'Long-polls answered before their timeout for a reason other than data: token_deleted (401), user_limit (a newer one of the same user took its place)',
      labelNames: ['reason'],
      registers: [metrics],
    });
    const registry = new LongPollRegistry(undefined, () => this.endedEarly.inc({ reason: 'user_limit' }));
    this.registry = registry;
    new Gauge({
      name: 'mx_sync_long_polls_registered',
      help: 'Long-polls registered for access-token deletions (those waiting, and those building their answer)',
      registers: [metrics],
      collect() {
        this.set(registry.size);
      },
    });
  }

  onModuleInit(): void {
    this.unsubscribe = this.tokens.onTokensDeleted((hashes) => this.registry.tokensDeleted(hashes));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  park(userId: string, tokenHash: string): { readonly poll: ParkedLongPoll; leave(): void } {
    return this.registry.park(userId, tokenHash);
  }

  /** The long-poll's token is gone: count it (the caller answers 401). */
  tokenDeleted(): void {
    this.endedEarly.inc({ reason: 'token_deleted' });
  }
}
