/**
 * Deleted access tokens, announced by a trigger on `access_tokens` (NOTIFY in the deleting
 * transaction, so it is delivered exactly when the deletion is visible). Every service caching
 * tokens `LISTEN`s and forgets them. The payload is the SHA-256 hashes (hex, comma-separated) of
 * the deleted tokens, or `*` when too many were deleted at once (or the table was truncated), or
 * `user:<user ID>` when every token of a user is gone (companion mode: the homeserver's
 * `/logout/all`, whose tokens this project never stored; sent by the writer that forwarded it).
 *
 * Listeners hear notifications in commit order. A process that deleted tokens sends a barrier
 * afterwards; every listening process, on hearing it (so after the deletion), answers with an
 * acknowledgement naming it: once every listener has acknowledged, every cache has forgotten.
 */
export const ACCESS_TOKEN_CHANNEL = 'mx_access_tokens';

/** The channel of the access tokens in `schema` (the trigger names it the same way). */
export function accessTokenChannel(schema: string): string {
  return schema === 'public' ? ACCESS_TOKEN_CHANNEL : `${ACCESS_TOKEN_CHANNEL}_${schema}`;
}

export type AccessTokenChange =
  | { readonly kind: 'tokens'; readonly hashes: readonly string[] }
  | { readonly kind: 'all' }
  /** Every token of this user (companion mode's `/logout/all`). */
  | { readonly kind: 'user'; readonly userId: string }
  /** Deletes nothing: sent after a deletion; every listener acknowledges it. */
  | { readonly kind: 'barrier'; readonly id: string }
  /** A listener heard the barrier `id` (and so every deletion committed before it). */
  | { readonly kind: 'ack'; readonly id: string };

const BARRIER_PREFIX = 'barrier:';
const ACK_PREFIX = 'ack:';
const USER_PREFIX = 'user:';

/** The payload announcing that every token of `userId` is gone. */
export function accessTokensOfUser(userId: string): string {
  return `${USER_PREFIX}${userId}`;
}

export function accessTokenBarrier(id: string): string {
  return `${BARRIER_PREFIX}${id}`;
}

export function accessTokenAck(id: string): string {
  return `${ACK_PREFIX}${id}`;
}

export function decodeAccessTokenChange(payload: string): AccessTokenChange {
  if (payload.startsWith(BARRIER_PREFIX)) return { kind: 'barrier', id: payload.slice(BARRIER_PREFIX.length) };
  if (payload.startsWith(ACK_PREFIX)) return { kind: 'ack', id: payload.slice(ACK_PREFIX.length) };
  if (payload.startsWith(USER_PREFIX) && payload.length > USER_PREFIX.length)
    return { kind: 'user', userId: payload.slice(USER_PREFIX.length) };
  const hashes = payload.split(',');
  // Anything unexpected forgets everything: a needless lookup is cheap, a stale token is not.
  if (payload === '*' || !hashes.every((hash) => /^[0-9a-f]{64}$/.test(hash))) return { kind: 'all' };
  return { kind: 'tokens', hashes };
}

/**
 * Listeners on `channel` name their connection (application_name) with this prefix and their
 * process ID: how a process finds in pg_stat_activity how many listeners must acknowledge its
 * barrier. PostgreSQL cuts names at 63 bytes; listeners of a channel that long are not waited for.
 */
export function accessTokenListenerPrefix(channel: string): string {
  return `${channel} `;
}
