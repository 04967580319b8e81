import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AccessTokenService, accessTokenKey, type Requester } from '@mx/auth';
import { HomeserverClient, homeserverError } from '@mx/companion';

/**
 * Companion mode's `POST /logout` and `/logout/all`: the homeserver owns the tokens, so the
 * request is forwarded to it with the client's token; once it answered 200, every replica of
 * every service is told at once (a NOTIFY on the access-token channel, then a barrier every
 * listener acknowledges) to forget the token (or all of the user's) from its whoami cache and to
 * end the long-polls parked with it (401). The homeserver's refusal reaches the client unchanged.
 */
@Injectable()
export class CompanionLogoutService {
  constructor(
    private readonly homeserver: HomeserverClient,
    private readonly tokens: AccessTokenService,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(CompanionLogoutService.name);
  }

  logout(requester: Requester, token: string): Promise<void> {
    return this.forward('/_matrix/client/v3/logout', requester, token, { hashes: [accessTokenKey(token)] });
  }

  logoutAll(requester: Requester, token: string): Promise<void> {
    return this.forward('/_matrix/client/v3/logout/all', requester, token, { userId: requester.userId });
  }

  private async forward(
    path: string,
    requester: Requester,
    token: string,
    gone: { readonly hashes: readonly string[] } | { readonly userId: string },
  ): Promise<void> {
    const answer = await this.homeserver.request('POST', path, { token, body: {} });
    if (answer.status !== 200) throw homeserverError(answer);
    try {
      await this.tokens.announceDeleted(gone);
    } catch (error) {
      // The homeserver logged the token out: the logout happened. Replicas forget it when their
      // whoami cache expires (MX_WHOAMI_CACHE_MS); parked long-polls end at their timeout.
      this.logger.error(
        { err: error, userId: requester.userId, deviceId: requester.deviceId, path },
        'logged out at the homeserver, but could not tell the replicas to forget the token',
      );
    }
  }
}
