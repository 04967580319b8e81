import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { PinoLogger } from 'nestjs-pino';
import { Counter, Registry } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import {
  accessTokenAck,
  accessTokenBarrier,
  accessTokenChannel,
  accessTokenListenerPrefix,
  accessTokens,
  accessTokensOfUser,
  Database,
  decodeAccessTokenChange,
  PostgresListener,
  type Sql,
} from '@mx/storage';
import { AccessTokenCache } from './access-token-cache.js';
import { generateAccessToken, hashAccessToken } from './access-token.js';
import type { Requester } from './requester.js';

/** Tokens kept per process (a few hundred bytes each). */
export const ACCESS_TOKEN_CACHE_ENTRIES = 50_000;
/** How long a looked-up token is trusted without asking again, should a deletion's notification be lost. */
export const ACCESS_TOKEN_CACHE_TTL_MS = 60_000;

/**
 * Deleted tokens: their hex SHA-256 hashes, `'all'` when any token may have gone, or every token
 * of one user (companion mode's `/logout/all`).
 */
export type TokenDeletion = readonly string[] | 'all' | { readonly userId: string };

/** Hears of deleted tokens. */
export type TokenDeletionListener = (deletion: TokenDeletion) => void;

/**
 * Issues and resolves access tokens (stored hashed in PostgreSQL). Resolved tokens are cached, so
 * a client's requests cost no token lookup; every deletion of tokens is announced by the
 * database (a trigger NOTIFYs in the deleting transaction) and forgotten here as it commits. The
 * cache is used only while this process LISTENs, and emptied whenever it starts listening again
 * (it may have missed deletions meanwhile).
 */
@Injectable()
export class AccessTokenService implements OnModuleInit, OnApplicationShutdown {
  private readonly cache = new AccessTokenCache(ACCESS_TOKEN_CACHE_ENTRIES, ACCESS_TOKEN_CACHE_TTL_MS);
  private readonly listener: PostgresListener;
  private readonly lookups: Counter<'result'>;
  private readonly channel: string;
  private readonly deletionListeners = new Set<TokenDeletionListener>();
  /** Barriers this process sent, waiting for every listener's acknowledgement. */
  private readonly barriers = new Map<string, { acks: number; expected: number; done: () => void }>();

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) config: AppConfig,
    registry: Registry,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(AccessTokenService.name);
    this.lookups = new Counter({
      name: 'mx_access_token_lookups_total',
      help: 'Access tokens resolved, by where the answer came from (cache, database) or unknown',
      labelNames: ['result'],
      registers: [registry],
    });
    this.channel = accessTokenChannel(config.database.schema);
    this.listener = new PostgresListener(
      config.database,
      this.channel,
      (payload) => {
        const change = decodeAccessTokenChange(payload);
        if (change.kind === 'barrier') void this.acknowledge(change.id);
        else if (change.kind === 'ack') this.acknowledged(change.id);
        else if (change.kind === 'all') this.deleted('all');
        else if (change.kind === 'user') this.deleted({ userId: change.userId });
        else this.deleted(change.hashes);
      },
      // Deletions may have been missed while not listening: anything may be gone.
      () => this.deleted('all'),
      logger,
      `${accessTokenListenerPrefix(this.channel)}${process.pid}`,
    );
  }

  async onModuleInit(): Promise<void> {
    await this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener.stop();
  }

  resolve(token: string): Promise<Requester | null> {
    return this.resolveHash(hashAccessToken(token));
  }

  /** Resolves a token by its SHA-256 (see `hashAccessToken`). */
  async resolveHash(hash: Buffer): Promise<Requester | null> {
    const key = hash.toString('hex');
    if (this.cached(key)) {
      // A deletion's notification that reached this process with the request is heard first.
      await nextTurn();
      const cached = this.cached(key);
      if (cached) {
        this.lookups.inc({ result: 'cache' });
        return cached;
      }
    }
    const lookupBegan = this.cache.begin();
    const requester = await accessTokens.owner(this.db, hash);
    if (!requester) {
      this.lookups.inc({ result: 'unknown' });
      return null;
    }
    this.lookups.inc({ result: 'database' });
    if (this.listener.listening) this.cache.set(key, requester, lookupBegan);
    return requester;
  }

  /**
   * Whether the token with this hex SHA-256 still exists: from the cache when it holds the token
   * (a deletion removes it from the cache before its subscribers hear of it), else from the database.
   * The cache is read at once, without `resolveHash`'s wait for a turn: the caller checks a token it
   * already resolved for this request, so a deletion that came in with the request was heard then.
   */
  async isAlive(hashHex: string): Promise<boolean> {
    if (this.cached(hashHex)) {
      this.lookups.inc({ result: 'cache' });
      return true;
    }
    return (await this.resolveHash(Buffer.from(hashHex, 'hex'))) !== null;
  }

  /**
   * Calls `listener` whenever tokens are deleted, after this process forgot them: with their hex
   * SHA-256 hashes, or `'all'` when any token may have gone (a mass deletion, or a reconnect of
   * the listener, which may have missed deletions). Returns the unsubscribe function.
   */
  onTokensDeleted(listener: TokenDeletionListener): () => void {
    this.deletionListeners.add(listener);
    return () => this.deletionListeners.delete(listener);
  }

  private deleted(deletion: TokenDeletion): void {
    if (deletion === 'all') this.cache.clear();
    else if ('userId' in deletion) this.cache.forgetDevices(deletion.userId);
    else this.cache.forget(deletion);
    for (const listener of this.deletionListeners) {
      try {
        listener(deletion);
      } catch (error) {
        this.logger.warn({ err: String(error) }, 'an access-token deletion listener failed');
      }
    }
  }

  /** The cache is trusted only while no deletion can be missed. */
  private cached(key: string): Requester | undefined {
    return this.listener.listening ? this.cache.get(key) : undefined;
  }

  /**
   * Forgets a device's tokens (or every device's, without `deviceId`) at once in this process,
   * after a deletion committed here; other processes hear of it from the database.
   */
  forgetDevices(userId: string, deviceId?: string): void {
    this.cache.forgetDevices(userId, deviceId);
  }

  /**
   * Companion mode: tells every process that tokens the homeserver issued are gone (one token's
   * hex SHA-256, or every token of a user), then waits until all of them heard it (see
   * awaitDeletionsHeard). The homeserver already refused them: this only makes every replica
   * forget them at once and end the long-polls parked with them.
   */
  async announceDeleted(deletion: { readonly hashes: readonly string[] } | { readonly userId: string }): Promise<void> {
    const payload = 'userId' in deletion ? accessTokensOfUser(deletion.userId) : deletion.hashes.join(',');
    await accessTokens.announce(this.db, this.channel, payload);
    await this.awaitDeletionsHeard();
  }

  /**
   * Waits (at most `timeoutMs`) until every process listening for token deletions has heard those
   * committed before the call, so a logout answered after it leaves no replica trusting the token:
   * a barrier NOTIFY comes after the deletions on every listener's connection, and each listener
   * acknowledges it. A process not listening does not use its cache; one that starts listening
   * later starts with an empty one; one that never answers only delays the caller.
   */
  async awaitDeletionsHeard(timeoutMs = 2000): Promise<void> {
    if (!this.listener.listening) return;
    const id = randomUUID();
    let done!: () => void;
    const heard = new Promise<void>((resolve) => (done = resolve));
    const barrier = { acks: 0, expected: Number.POSITIVE_INFINITY, done };
    this.barriers.set(id, barrier);
    const timeout = new AbortController();
    try {
      barrier.expected = await accessTokens.announceCountingListeners(
        this.db,
        this.channel,
        accessTokenBarrier(id),
        accessTokenListenerPrefix(this.channel),
      );
      if (barrier.acks >= barrier.expected) done();
      await Promise.race([heard, sleep(timeoutMs, undefined, { signal: timeout.signal }).catch(() => undefined)]);
    } finally {
      timeout.abort();
      this.barriers.delete(id);
    }
  }

  /** Every deletion committed before the barrier has been forgotten here: say so. */
  private async acknowledge(id: string): Promise<void> {
    try {
      await accessTokens.announce(this.db, this.channel, accessTokenAck(id));
    } catch (error) {
      this.logger.warn({ err: String(error) }, 'could not acknowledge an access-token barrier');
    }
  }

  private acknowledged(id: string): void {
    const barrier = this.barriers.get(id);
    if (barrier && ++barrier.acks >= barrier.expected) barrier.done();
  }

  /** Creates a token for an existing device; runs inside the caller's transaction when given one. */
  async issue(requester: Requester, sql: Sql = this.db): Promise<string> {
    const token = generateAccessToken();
    await accessTokens.create(sql, {
      tokenHash: hashAccessToken(token),
      userId: requester.userId,
      deviceId: requester.deviceId,
      createdTs: Date.now(),
    });
    return token;
  }
}
