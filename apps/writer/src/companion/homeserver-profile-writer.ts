import { Inject, Injectable } from '@nestjs/common';
import { HomeserverClient, homeserverError } from '@mx/companion';
import { APP_CONFIG, type AppConfig } from '@mx/config';

/**
 * Companion mode: profile changes written to the homeserver (still the source of truth for its
 * `GET /profile`, member events and federation) before they are appended to the log. Written with
 * the appservice's `as_token` and `?user_id=<the user>`: the registration is `rate_limited: false`,
 * so Synapse never stores a value and then answers 429 from its propagation limiter. A non-2xx is
 * the homeserver's Matrix error, passed to the client; unreachable 502, too slow 504 (`M_UNKNOWN`).
 */
@Injectable()
export class HomeserverProfileWriter {
  private readonly asToken: string;

  constructor(
    private readonly homeserver: HomeserverClient,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    if (!config.appservice) throw new Error('Companion mode needs MX_APPSERVICE_AS_TOKEN');
    this.asToken = config.appservice.asToken;
  }

  setField(userId: string, field: string, value: unknown): Promise<void> {
    return this.send('PUT', userId, field, { [field]: value });
  }

  deleteField(userId: string, field: string): Promise<void> {
    return this.send('DELETE', userId, field, undefined);
  }

  private async send(method: 'PUT' | 'DELETE', userId: string, field: string, body: unknown): Promise<void> {
    const answer = await this.homeserver.request(
      method,
      `/_matrix/client/v3/profile/${encodeURIComponent(userId)}/${encodeURIComponent(field)}`,
      { token: this.asToken, query: new URLSearchParams({ user_id: userId }), body },
    );
    if (answer.status >= 200 && answer.status < 300) return;
    throw homeserverError(answer, 'The homeserver refused the change');
  }
}
