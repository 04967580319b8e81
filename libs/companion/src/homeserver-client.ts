import { MatrixError } from '@mx/matrix';

/** A JSON answer of the homeserver (any status). */
export interface HomeserverAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** The homeserver's Retry-After, when it sent one (passed on with its 429). */
  readonly retryAfter?: string | undefined;
}

/** Thrown when a request to the homeserver was cancelled by the caller (not a timeout, not a failure). */
export class HomeserverRequestCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'HomeserverRequestCancelled';
  }
}

export interface HomeserverClientOptions {
  /** The homeserver's client-server base URL, without a trailing slash. */
  readonly url: string;
  /** How long the homeserver may take beyond a request's own wait. */
  readonly timeoutMs: number;
}

export interface HomeserverRequest {
  /** The bearer token to send (the client's, or the appservice's as_token). */
  readonly token?: string | undefined;
  readonly query?: URLSearchParams | undefined;
  /** A JSON body (POST, PUT). */
  readonly body?: unknown;
  /** How long the homeserver may legitimately hold the request (a long-poll's timeout). */
  readonly waitMs?: number | undefined;
  /** Aborts the request on the caller's behalf. */
  readonly cancel?: AbortSignal | undefined;
}

const FILTER_CACHE_ENTRIES = 10_000;

/**
 * Companion mode: requests to the homeserver's client-server API. Every request is bounded (its
 * own wait plus the timeout): a homeserver that does not answer in time is a 504 `M_UNKNOWN`, one
 * that cannot be reached (or answers something that is not a JSON object) a 502.
 */
export class HomeserverClient {
  /** Filters are immutable at the homeserver: resolved once per (user, id). */
  private readonly filters = new Map<string, Record<string, unknown>>();

  constructor(private readonly options: HomeserverClientOptions) {}

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  get(path: string, request: HomeserverRequest = {}): Promise<HomeserverAnswer> {
    return this.request('GET', path, request);
  }

  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, request: HomeserverRequest = {}): Promise<HomeserverAnswer> {
    const deadline = AbortSignal.timeout((request.waitMs ?? 0) + this.options.timeoutMs);
    const signal = request.cancel ? AbortSignal.any([deadline, request.cancel]) : deadline;
    const query = request.query && [...request.query].length > 0 ? `?${request.query.toString()}` : '';
    const headers: Record<string, string> = {};
    if (request.token !== undefined) headers['authorization'] = `Bearer ${request.token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await fetch(`${this.options.url}${path}${query}`, {
        method,
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
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
      return {
        status: response.status,
        body: body as Record<string, unknown>,
        retryAfter: response.headers.get('retry-after') ?? undefined,
      };
    } catch (error) {
      if (error instanceof MatrixError) throw error;
      if (request.cancel?.aborted && !deadline.aborted) throw new HomeserverRequestCancelled();
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

/**
 * The homeserver's error answer, passed to the client unchanged (status, errcode, message, extra
 * fields, Retry-After); an answer without an errcode is a 502 `M_UNKNOWN`.
 */
export function homeserverError(answer: HomeserverAnswer, fallbackMessage = `The homeserver answered ${answer.status}`): MatrixError {
  const { errcode, error, ...extra } = answer.body;
  if (typeof errcode !== 'string') return new MatrixError(502, 'M_UNKNOWN', `The homeserver answered ${answer.status}`);
  return new MatrixError(
    answer.status,
    errcode,
    typeof error === 'string' ? error : fallbackMessage,
    extra,
    answer.retryAfter === undefined ? undefined : { 'Retry-After': answer.retryAfter },
  );
}
