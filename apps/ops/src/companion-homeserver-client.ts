import { isJsonObject } from '@mx/companion';

/**
 * The homeserver as the companion operator commands read it: Synapse's admin API with an admin's
 * access token, and `GET /profile` with the appservice's as_token (as the user it reads, so the
 * homeserver's profile rate limits and `limit_profile_requests_to_users_who_share_rooms` never
 * apply). Each request has a deadline (MX_UPSTREAM_TIMEOUT_MS); a refusal or an unreachable
 * homeserver stops the command with the homeserver's own Matrix error, never skipped silently.
 */
export class HomeserverRequestError extends Error {
  constructor(
    readonly request: string,
    /** The HTTP status, or undefined when no answer came (unreachable, timed out). */
    readonly status: number | undefined,
    readonly errcode: string | undefined,
    detail: string,
  ) {
    super(`${request}: ${status === undefined ? '' : `${status} `}${errcode ?? ''}${errcode === undefined ? '' : ' '}${detail}`.trim());
    this.name = 'HomeserverRequestError';
  }

  /** The homeserver refused the credentials (401/403): a wrong admin token or as_token, not a transient failure. */
  get refusedCredentials(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

export class HomeserverClient {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: { readonly admin?: string | undefined; readonly appservice: string },
    private readonly timeoutMs: number,
  ) {}

  /** GET an admin API path; the JSON body. */
  admin(path: string): Promise<unknown> {
    if (this.tokens.admin === undefined) throw new Error('no admin token: set MX_UPSTREAM_ADMIN_TOKEN or pass --admin-token');
    return this.get(path, this.tokens.admin, false).then((answer) => answer.body);
  }

  /** GET a user's profile with the as_token; undefined when the homeserver has none (404 M_NOT_FOUND). */
  async profile(path: string): Promise<unknown> {
    const answer = await this.get(path, this.tokens.appservice, true);
    return answer.status === 404 ? undefined : answer.body;
  }

  private async get(path: string, token: string, notFoundIsEmpty: boolean): Promise<{ status: number; body: unknown }> {
    const request = `GET ${path.replace(/\?.*$/, '')}`;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new HomeserverRequestError(
        request,
        undefined,
        undefined,
        timedOut ? `no answer within ${this.timeoutMs} ms` : `the homeserver cannot be reached at ${this.baseUrl}`,
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const errcode = isJsonObject(body) && typeof body['errcode'] === 'string' ? body['errcode'] : undefined;
    if (response.status === 404 && notFoundIsEmpty && errcode === 'M_NOT_FOUND') return { status: 404, body: undefined };
    if (response.status !== 200 || body === undefined) {
      const error = isJsonObject(body) && typeof body['error'] === 'string' ? body['error'] : `answered ${text.slice(0, 200)}`;
      throw new HomeserverRequestError(request, response.status, errcode, error);
    }
    return { status: response.status, body };
  }
}
