export type AccessTokenSource =
  { readonly kind: 'token'; readonly token: string } | { readonly kind: 'missing' } | { readonly kind: 'malformed' };

/**
 * Finds the access token of a request: `Authorization: Bearer <token>` first, then the
 * deprecated `access_token` query parameter. A header that is not a Bearer token is malformed.
 */
export function extractAccessToken(authorization: string | undefined, queryToken: unknown): AccessTokenSource {
  if (authorization !== undefined && authorization !== '') {
    const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
    return match?.[1] ? { kind: 'token', token: match[1] } : { kind: 'malformed' };
  }
  if (typeof queryToken === 'string' && queryToken !== '') return { kind: 'token', token: queryToken };
  if (queryToken !== undefined && typeof queryToken !== 'string') return { kind: 'malformed' };
  return { kind: 'missing' };
}
