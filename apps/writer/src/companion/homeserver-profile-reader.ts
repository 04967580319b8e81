import { Injectable } from '@nestjs/common';
import { HomeserverClient, homeserverError } from '@mx/companion';

/**
 * Companion mode: `GET /profile/{userId}[/{keyName}]` reaching the writer is answered by the
 * homeserver, which stays the source of truth for profiles (its own rules: unknown users, remote
 * users over federation, `require_auth_for_profile_requests`, per-room privacy). The writer only
 * sees these reads where a router cannot tell methods apart (an Ingress sending the whole profile
 * prefix to it); the client's token, when it sent one, goes along.
 */
@Injectable()
export class HomeserverProfileReader {
  constructor(private readonly homeserver: HomeserverClient) {}

  async read(userId: string, keyName: string | undefined, token: string | undefined): Promise<Record<string, unknown>> {
    const path = `/_matrix/client/v3/profile/${encodeURIComponent(userId)}${keyName === undefined ? '' : `/${encodeURIComponent(keyName)}`}`;
    const answer = await this.homeserver.get(path, { token });
    if (answer.status === 200) return answer.body;
    throw homeserverError(answer, 'The homeserver refused the profile read');
  }
}
