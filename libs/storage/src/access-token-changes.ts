/**
 * Deleted access tokens, announced by a trigger on `access_tokens` (NOTIFY in the deleting
 * transaction, so it is delivered exactly when the deletion is visible). Every service caching
 * tokens `LISTEN`s and forgets them. The payload is the SHA-256 hashes (hex, comma-separated) of
 * the deleted tokens, or `*` when too many were deleted at once (or the table was truncated).
 */
export const ACCESS_TOKEN_CHANNEL = 'mx_access_tokens';

/** The channel of the access tokens in `schema` (the trigger names it the same way). */
export function accessTokenChannel(schema: string): string {
  return schema === 'public' ? ACCESS_TOKEN_CHANNEL : `${ACCESS_TOKEN_CHANNEL}_${schema}`;
}

export type AccessTokenChange = { readonly kind: 'tokens'; readonly hashes: readonly string[] } | { readonly kind: 'all' };

export function decodeAccessTokenChange(payload: string): AccessTokenChange {
  const hashes = payload.split(',');
  // Anything unexpected forgets everything: a needless lookup is cheap, a stale token is not.
  if (payload === '*' || !hashes.every((hash) => /^[0-9a-f]{64}$/.test(hash))) return { kind: 'all' };
  return { kind: 'tokens', hashes };
}
