import { type HttpClient } from './http-client.js';
import { type HttpStats } from './http-stats.js';
import { now, sleep } from './time.js';

export interface MatrixResult<T> {
  readonly status: number;
  readonly body: T;
  readonly bytes: number;
  /** Duration of the last attempt (the one answered), ms. */
  readonly ms: number;
  /** When the last attempt's response was complete (monotonic ms). */
  readonly at: number;
  /** 429s met (and backed off) before this answer. */
  readonly rateLimited: number;
}

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly query?: Record<string, string | number | undefined>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Use the /sync origin (may differ from the base URL, e.g. to bypass a router). */
  readonly sync?: boolean;
}

export type Json = Record<string, unknown>;

/** The Matrix error body, when there is one. */
export function errcode(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null && typeof (body as Json)['errcode'] === 'string'
    ? ((body as Json)['errcode'] as string)
    : undefined;
}

export class MatrixError extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${what}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`);
  }
}

/**
 * The Client-Server API calls the benchmark needs, against one homeserver. Every 429 is counted and
 * backed off by its `retry_after_ms` (or Retry-After, or 1 s), at most `max429` times per call and
 * never past the caller's abort.
 */
export class MatrixClient {
  constructor(
    private readonly http: HttpClient,
    private readonly syncHttp: HttpClient,
    readonly stats: HttpStats,
    private readonly limits: { max429: number; maxBackoffMs: number; defaultTimeoutMs: number } = {
      max429: 50,
      maxBackoffMs: 10_000,
      defaultTimeoutMs: 30_000,
    },
  ) {}

  async call<T = Json>(method: string, path: string, options: CallOptions = {}): Promise<MatrixResult<T>> {
    const query = Object.entries(options.query ?? {}).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
    const target = query.length
      ? `${path}?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString()}`
      : path;
    const headers: Record<string, string> = {};
    if (options.token) headers['Authorization'] = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json';
    }
    const client = options.sync ? this.syncHttp : this.http;
    let rateLimited = 0;
    for (;;) {
      const started = now();
      this.stats.requests += 1;
      let response;
      try {
        response = await client.request(method, target, {
          headers,
          timeoutMs: options.timeoutMs ?? this.limits.defaultTimeoutMs,
          ...(body === undefined ? {} : { body }),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (error) {
        if (!options.signal?.aborted) this.stats.transportErrors += 1;
        throw error;
      }
      const at = now();
      this.stats.count(response.status);
      let parsed: unknown = {};
      if (response.text) {
        try {
          parsed = JSON.parse(response.text);
        } catch {
          parsed = { errcode: 'BENCH_NOT_JSON', error: response.text.slice(0, 200) };
        }
      }
      if (response.status === 429 && rateLimited < this.limits.max429 && !options.signal?.aborted) {
        rateLimited += 1;
        this.stats.rateLimited += 1;
        const wait = Math.min(this.limits.maxBackoffMs, retryAfterMs(parsed, response.headers['retry-after']));
        this.stats.backoffMs += wait;
        await sleep(wait, options.signal);
        continue;
      }
      return { status: response.status, body: parsed as T, bytes: response.bytes, ms: at - started, at, rateLimited };
    }
  }

  /**
   * Registration with the m.login.dummy stage of User-Interactive Auth: in one request where the
   * server accepts a stage without a session (Synapse and this project do), else in two (the 401
   * hands out the session).
   */
  async register(localpart: string, password: string): Promise<{ userId: string; token: string; deviceId: string }> {
    const body: Json = { username: localpart, password, initial_device_display_name: 'bench' };
    let result = await this.call('POST', '/_matrix/client/v3/register', { body: { ...body, auth: { type: 'm.login.dummy' } } });
    if (result.status === 401) {
      const first = await this.call('POST', '/_matrix/client/v3/register', { body });
      if (first.status === 401 && typeof first.body['session'] === 'string')
        result = await this.call('POST', '/_matrix/client/v3/register', {
          body: { ...body, auth: { type: 'm.login.dummy', session: first.body['session'] } },
        });
    }
    const { user_id: userId, access_token: token, device_id: deviceId } = result.body;
    if (result.status !== 200 || typeof userId !== 'string' || typeof token !== 'string')
      throw new MatrixError(`register ${localpart}`, result.status, result.body);
    return { userId, token, deviceId: typeof deviceId === 'string' ? deviceId : '' };
  }

  async whoami(token: string): Promise<string | undefined> {
    const result = await this.call('GET', '/_matrix/client/v3/account/whoami', { token });
    return result.status === 200 && typeof result.body['user_id'] === 'string' ? result.body['user_id'] : undefined;
  }

  async createRoom(token: string, name: string): Promise<string> {
    const result = await this.call('POST', '/_matrix/client/v3/createRoom', {
      token,
      body: { preset: 'public_chat', name, visibility: 'private' },
    });
    const roomId = result.body['room_id'];
    if (result.status !== 200 || typeof roomId !== 'string') throw new MatrixError(`createRoom ${name}`, result.status, result.body);
    return roomId;
  }

  async join(token: string, roomId: string): Promise<void> {
    const result = await this.call('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token, body: {} });
    if (result.status !== 200) throw new MatrixError(`join ${roomId}`, result.status, result.body);
  }

  putProfileField(token: string, userId: string, field: string, value: unknown, signal?: AbortSignal): Promise<MatrixResult<Json>> {
    return this.call('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(userId)}/${encodeURIComponent(field)}`, {
      token,
      body: { [field]: value },
      ...(signal ? { signal } : {}),
    });
  }

  /** `PUT /rooms/{roomId}/send/m.room.message/{txnId}` with a plain text body. */
  sendMessage(token: string, roomId: string, txnId: string, text: string, signal?: AbortSignal): Promise<MatrixResult<Json>> {
    return this.call('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`, {
      token,
      body: { msgtype: 'm.text', body: text },
      ...(signal ? { signal } : {}),
    });
  }

  async uploadFilter(token: string, userId: string, filter: Json): Promise<string> {
    const result = await this.call('POST', `/_matrix/client/v3/user/${encodeURIComponent(userId)}/filter`, { token, body: filter });
    const filterId = result.body['filter_id'];
    if (result.status !== 200 || typeof filterId !== 'string') throw new MatrixError('upload filter', result.status, result.body);
    return filterId;
  }

  sync(
    token: string,
    params: { filter: string; since?: string | undefined; timeout: number },
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<MatrixResult<Json>> {
    return this.call('GET', '/_matrix/client/v3/sync', {
      token,
      sync: true,
      query: { filter: params.filter, since: params.since, timeout: params.timeout },
      timeoutMs: options.timeoutMs ?? params.timeout + 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
}

/** The wait a 429 asks for: `retry_after_ms` in the body, else the Retry-After header (seconds), else 1 s. */
export function retryAfterMs(body: unknown, header: string | undefined): number {
  const fromBody = typeof body === 'object' && body !== null ? (body as Json)['retry_after_ms'] : undefined;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  const seconds = header === undefined ? NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  return 1000;
}
