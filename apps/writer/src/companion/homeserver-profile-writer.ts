import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { MatrixError } from '@mx/matrix';

/**
 * Companion mode: profile changes written to the homeserver (still the source of truth for its
 * `GET /profile`, member events and federation) before they are appended to the log. Written with
 * the appservice's `as_token` and `?user_id=<the user>`: the registration is `rate_limited: false`,
 * so Synapse never stores a value and then answers 429 from its propagation limiter. A non-2xx is
 * the homeserver's Matrix error, passed to the client; unreachable 502, too slow 504 (`M_UNKNOWN`).
 */
@Injectable()
export class HomeserverProfileWriter {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly asToken: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (!config.upstream) throw new Error('Companion mode needs MX_UPSTREAM_URL');
    if (!config.appservice) throw new Error('Companion mode needs MX_APPSERVICE_AS_TOKEN');
    this.baseUrl = config.upstream.url;
    this.timeoutMs = config.upstream.timeoutMs;
    this.asToken = config.appservice.asToken;
  }

  setField(userId: string, field: string, value: unknown): Promise<void> {
    return this.send('PUT', userId, field, { [field]: value });
  }

  deleteField(userId: string, field: string): Promise<void> {
    return this.send('DELETE', userId, field, undefined);
  }

  private async send(method: 'PUT' | 'DELETE', userId: string, field: string, body: unknown): Promise<void> {
    const url = `${this.baseUrl}/_matrix/client/v3/profile/${encodeURIComponent(userId)}/${encodeURIComponent(field)}?${new URLSearchParams({ user_id: userId }).toString()}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.asToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new MatrixError(504, 'M_UNKNOWN', 'The homeserver did not answer in time');
      }
      throw new MatrixError(502, 'M_UNKNOWN', 'The homeserver cannot be reached');
    }
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch {
      parsed = undefined;
    }
    if (response.status >= 200 && response.status < 300) return;
    const object = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    const { errcode, error, ...extra } = object;
    if (typeof errcode !== 'string') throw new MatrixError(502, 'M_UNKNOWN', `The homeserver answered ${response.status}`);
    const headers: Record<string, string> = {};
    const retryAfter = response.headers.get('retry-after');
    if (retryAfter !== null) headers['Retry-After'] = retryAfter;
    throw new MatrixError(
      response.status,
      errcode,
      typeof error === 'string' ? error : 'The homeserver refused the change',
      extra,
      headers,
    );
  }
}
