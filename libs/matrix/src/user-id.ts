/** Matrix user IDs (spec: Appendices → Identifier Grammar → User Identifiers). */

export interface UserId {
  readonly localpart: string;
  readonly serverName: string;
}

/** The longest user ID the spec allows, in bytes, sigil and domain included. */
export const MAX_USER_ID_BYTES = 255;

/** Localparts of new users: `a-z 0-9 . _ = - / +`. */
const NEW_LOCALPART = /^[a-z0-9._=\-/+]+$/;
/** Historical localparts: any printable ASCII except `:`. */
const HISTORICAL_LOCALPART = /^[\x21-\x39\x3b-\x7e]+$/;
/** server_name = hostname [ ":" port ]: DNS name, IPv4 or bracketed IPv6. */
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::[0-9]{1,5})?$/;

export function isValidServerName(serverName: string): boolean {
  return SERVER_NAME.test(serverName);
}

/** Parses a user ID, accepting historical localparts. Returns null when it is not a user ID. */
export function parseUserId(value: string): UserId | null {
  if (!value.startsWith('@') || Buffer.byteLength(value, 'utf8') > MAX_USER_ID_BYTES) return null;
  const colon = value.indexOf(':');
  if (colon < 2) return null;
  const localpart = value.slice(1, colon);
  const serverName = value.slice(colon + 1);
  if (!HISTORICAL_LOCALPART.test(localpart) || !isValidServerName(serverName)) return null;
  return { localpart, serverName };
}

export function isValidUserId(value: string): boolean {
  return parseUserId(value) !== null;
}

/** Whether a localpart may be registered today (the stricter grammar for new users). */
export function isValidNewLocalpart(localpart: string): boolean {
  return localpart.length > 0 && NEW_LOCALPART.test(localpart);
}

export function formatUserId(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}
