import { expect } from 'vitest';
import { type MatrixResponse, PASSWORD, request, uniqueLocalpart } from './matrix-client.js';

/** Helpers for tests that act as clients of a homeserver of their own (Synapse, test/support/synapse.ts). */

/** Asserts a 200 (the body is shown on failure) and returns the body. */
export function expectOk<T>(response: MatrixResponse<T>, what: string): T {
  expect(response.status, `${what}: ${JSON.stringify(response.body)}`).toBe(200);
  return response.body;
}

export interface HomeserverUser {
  readonly user_id: string;
  readonly access_token: string;
  readonly device_id: string;
}

/** Registers a fresh user on the homeserver (`m.login.dummy`, the suite's password). */
export async function registerOnHomeserver(baseUrl: string, prefix: string): Promise<HomeserverUser> {
  return expectOk(
    await request<HomeserverUser>('POST', '/_matrix/client/v3/register', {
      baseUrl,
      body: { username: uniqueLocalpart(prefix), password: PASSWORD, auth: { type: 'm.login.dummy' } },
    }),
    `register ${prefix}`,
  );
}

/** `creator` makes a public room on the homeserver and `joiner` joins it; resolves the room ID. */
export async function shareAPublicRoom(
  baseUrl: string,
  creator: Pick<HomeserverUser, 'access_token'>,
  joiner: Pick<HomeserverUser, 'access_token'>,
): Promise<string> {
  const { room_id: roomId } = expectOk(
    await request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', {
      baseUrl,
      token: creator.access_token,
      body: { preset: 'public_chat' },
    }),
    'createRoom',
  );
  expectOk(
    await request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { baseUrl, token: joiner.access_token, body: {} }),
    'join',
  );
  return roomId;
}
