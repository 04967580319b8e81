import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, type UpstreamConfig } from '@mx/config';
import { MatrixError } from '@mx/matrix';

/** A JSON answer of the homeserver (any status). */
export interface HomeserverAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Thrown when a request to the homeserver was cancelled by the caller (not a timeout, not a failure). */
export class HomeserverRequestCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'HomeserverRequestCancelled';
  }
}

const FILTER_CACHE_ENTRIES = 10_000;

/**
 * Companion mode: requests to the homeserver's client-server API. Every request is bounded (its
 * own wait plus MX_UPSTREAM_TIMEOUT_MS): a homeserver that does not answer in time is a 504
 * `M_UNKNOWN`, one that cannot be reached (or answers something that is not JSON) a 502.
 */
@Injectable()
export class HomeserverClient {
  private readonly upstream: UpstreamConfig;
  /** Filters are immutable at the homeserver: resolved once per (user, id). */
  private readonly filters = new Map<string, Record<string, unknown>>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (!config.upstream) throw new Error('Companion mode needs MX_UPSTREAM_URL');
    this.upstream = config.upstream;
  }

  get timeoutMs(): number {
    return this.upstream.timeoutMs;
  }

  /**
   * GET `path` (with `query`), with the client's token when given. `waitMs`: how long the homeserver
   * may legitimately hold the request (a long-poll's timeout). `cancel` aborts it on the caller's behalf.
   */
  async get(
    path: string,
    options: { token?: string; query?: URLSearchParams; waitMs?: number; cancel?: AbortSignal } = {},
  ): Promise<HomeserverAnswer> {
    const deadline = AbortSignal.timeout((options.waitMs ?? 0) + this.upstream.timeoutMs);
    const signal = options.cancel ? AbortSignal.any([deadline, options.cancel]) : deadline;
    const query = options.query && [...options.query].length > 0 ? `?${options.query.toString()}` : '';
    try {
      const response = await fetch(`${this.upstream.url}${path}${query}`, {
        headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
        signal,
      });
      let body: unknown;
      try {
        body = await response.json();
      } catch (error) {
        if (signal.aborted) throw error;
        throw new MatrixError(502, 'M_UNKNOWN', `The homeserver answered ${response.status} without JSON`);
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new MatrixError(502, 'M_UNKNOWN', `The homeserver answered ${response.status} without a JSON object`);
      }
      return { status: response.status, body: body as Record<string, unknown> };
    } catch (error) {
      if (error instanceof MatrixError) throw error;
      if (options.cancel?.aborted && !deadline.aborted) throw new HomeserverRequestCancelled();
      if (deadline.aborted) throw new MatrixError(504, 'M_UNKNOWN', 'The homeserver did not answer in time');
      throw new MatrixError(502, 'M_UNKNOWN', 'The homeserver cannot be reached');
    }
  }

  /**
   * A stored filter of the user, as the homeserver holds it (`GET /user/{me}/filter/{id}` with the
   * user's token); undefined when the homeserver does not give it (its `/sync` then answers the error).
   */
  async filter(userId: string, token: string, filterId: string): Promise<Record<string, unknown> | undefined> {
    const key = JSON.stringify([userId, filterId]);
    const cached = this.filters.get(key);
    if (cached) return cached;
    const answer = await this.get(`/_matrix/client/v3/user/${encodeURIComponent(userId)}/filter/${encodeURIComponent(filterId)}`, {
      token,
    });
    if (answer.status !== 200) return undefined;
    if (this.filters.size >= FILTER_CACHE_ENTRIES) this.filters.delete(this.filters.keys().next().value as string);
    this.filters.set(key, answer.body);
    return answer.body;
  }
}

/** The homeserver's error answer, passed to the client unchanged (status, errcode, message, extra fields). */
export function homeserverError(answer: HomeserverAnswer): MatrixError {
  const { errcode, error, ...extra } = answer.body;
  return new MatrixError(
    answer.status,
    typeof errcode === 'string' ? errcode : 'M_UNKNOWN',
    typeof error === 'string' ? error : `The homeserver answered ${answer.status}`,
    extra,
  );
}
