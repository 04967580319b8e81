import { createHash } from 'node:crypto';
import { MatrixError } from '@mx/matrix';
import type { Requester } from './requester.js';

/**
 * The seam between a request's access token and who made it. Standalone mode resolves tokens from
 * its own database (AccessTokenService, behind AccessTokenGuard, unchanged); companion mode asks
 * the homeserver that issued them (HomeserverRequesterResolver, behind CompanionTokenGuard).
 */
export interface RequesterResolver {
  /** The token's owner; throws the MatrixError to answer (401 for a refused token). */
  resolve(token: string): Promise<Requester>;
}

/** The hex SHA-256 of an access token: the only form a cache keeps (never the token itself). */
export function accessTokenKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What the homeserver said about a token: its owner, or the error it answered (kept verbatim). */
export type WhoamiAnswer =
  | { readonly kind: 'accepted'; readonly requester: Requester }
  | { readonly kind: 'refused'; readonly status: number; readonly body: Record<string, unknown> };

export interface WhoamiCacheOptions {
  readonly positiveMs: number;
  readonly negativeMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
}

/**
 * whoami answers by token hash: accepted ones for `positiveMs`, refused ones for `negativeMs`,
 * at most `maxEntries` (the least recently used leaves first). Pure, in memory, per replica.
 */
export class WhoamiCache {
  private readonly entries = new Map<string, { readonly answer: WhoamiAnswer; readonly expiresAt: number }>();
  private readonly now: () => number;

  constructor(private readonly options: WhoamiCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): WhoamiAnswer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.answer;
  }

  set(key: string, answer: WhoamiAnswer): void {
    const ttl = answer.kind === 'accepted' ? this.options.positiveMs : this.options.negativeMs;
    this.entries.delete(key);
    if (ttl <= 0 || this.options.maxEntries <= 0) return;
    this.entries.set(key, { answer, expiresAt: this.now() + ttl });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every accepted answer naming `userId` (all of that user's tokens). */
  deleteUser(userId: string): void {
    for (const [key, entry] of this.entries) {
      if (entry.answer.kind === 'accepted' && entry.answer.requester.userId === userId) this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Only refusals of the token itself are remembered; a 5xx or 429 of the homeserver is not an answer about the token. */
export function isTokenRefusal(status: number): boolean {
  return status === 401 || status === 403;
}

export interface HomeserverRequesterResolverOptions extends WhoamiCacheOptions {
  /** The homeserver's client-server base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
}

/**
 * Companion mode: a token is the homeserver's, so its owner is what the homeserver's
 * `GET /_matrix/client/v3/account/whoami` says. Its 401 (or 403) reaches the client unchanged;
 * an unreachable or failing homeserver is a 502/504 `M_UNKNOWN`, never cached.
 */
export class HomeserverRequesterResolver implements RequesterResolver {
  private readonly cache: WhoamiCache;
  private readonly fetch: typeof fetch;
  /** Concurrent first requests with one token share one whoami call. */
  private readonly inFlight = new Map<string, Promise<WhoamiAnswer>>();

  constructor(private readonly options: HomeserverRequesterResolverOptions) {
    this.cache = new WhoamiCache(options);
    this.fetch = options.fetch ?? fetch;
  }

  async resolve(token: string): Promise<Requester> {
    const key = accessTokenKey(token);
    let answer = this.cache.get(key);
    if (!answer) {
      let pending = this.inFlight.get(key);
      if (!pending) {
        pending = this.ask(token).finally(() => this.inFlight.delete(key));
        this.inFlight.set(key, pending);
      }
      answer = await pending;
      if (answer.kind === 'accepted' || isTokenRefusal(answer.status)) this.cache.set(key, answer);
    }
    if (answer.kind === 'accepted') return answer.requester;
    const { errcode, error, ...extra } = answer.body;
    throw new MatrixError(
      answer.status,
      typeof errcode === 'string' ? errcode : 'M_UNKNOWN',
      typeof error === 'string' ? error : 'The homeserver refused the request',
      extra,
    );
  }

  /** Forgets a token (its holder logged out, or the homeserver refused it later). */
  forget(token: string): void {
    this.cache.delete(accessTokenKey(token));
  }

  /**
   * Forgets what a deletion announced on any replica names: tokens by their hex SHA-256, every
   * token of a user, or everything (`'all'`: deletions may have been missed).
   */
  forgetDeleted(deletion: readonly string[] | 'all' | { readonly userId: string }): void {
    if (deletion === 'all') this.cache.clear();
    else if ('userId' in deletion) this.cache.deleteUser(deletion.userId);
    else for (const hash of deletion) this.cache.delete(hash);
  }

  private async ask(token: string): Promise<WhoamiAnswer> {
    let response: Response;
    try {
      response = await this.fetch(`${this.options.baseUrl}/_matrix/client/v3/account/whoami`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new MatrixError(504, 'M_UNKNOWN', 'The homeserver did not answer in time');
      }
      throw new MatrixError(502, 'M_UNKNOWN', 'The homeserver cannot be reached');
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    const object = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    if (response.status === 200 && typeof object['user_id'] === 'string') {
      const deviceId = typeof object['device_id'] === 'string' ? object['device_id'] : '';
      return { kind: 'accepted', requester: { userId: object['user_id'], deviceId } };
    }
    if (response.status >= 400 && response.status < 500 && typeof object['errcode'] === 'string') {
      return { kind: 'refused', status: response.status, body: object };
    }
    return { kind: 'refused', status: 502, body: { errcode: 'M_UNKNOWN', error: `The homeserver answered ${response.status}` } };
  }
}
