import { formatUserId } from '@mx/matrix';

/** The user ID a login's user names: a localpart is lower-cased and qualified with the server name; a full user ID stays as it is. */
export function qualifyLoginUser(user: string, serverName: string): string {
  return user.startsWith('@') ? user : formatUserId(user.toLowerCase(), serverName);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The account a raw `POST /login` body names (`identifier.user` of an `m.id.user` identifier, or
 * the deprecated top-level `user`), qualified as the login would; undefined when it names none.
 * Read before the body is validated, for the per-account rate limit.
 */
export function loginAccountOf(body: unknown, serverName: string): string | undefined {
  if (!isObject(body)) return undefined;
  let user: unknown;
  if (Object.hasOwn(body, 'identifier')) {
    const identifier = body['identifier'];
    if (!isObject(identifier) || identifier['type'] !== 'm.id.user' || !Object.hasOwn(identifier, 'user')) return undefined;
    user = identifier['user'];
  } else if (Object.hasOwn(body, 'user')) {
    user = body['user'];
  }
  return typeof user === 'string' && user !== '' ? qualifyLoginUser(user, serverName) : undefined;
}
