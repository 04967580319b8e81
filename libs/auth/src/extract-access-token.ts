export type AccessTokenSource =
  { readonly kind: 'token'; readonly token: string } | { readonly kind: 'missing' } | { readonly kind: 'malformed' };

/**
 * Reads the access token from the `Authorization` header's value (`Bearer <token>`), else from
 * the deprecated `access_token` query parameter. A header that is not a Bearer token is malformed.
 * It parses one source: a request carrying both is refused first by `accessTokenOfRequest`.
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

/** A request whose token cannot be told: answered 401 `M_MISSING_TOKEN` with `reason` (as Synapse does). */
export interface AmbiguousAccessToken {
  readonly kind: 'ambiguous';
  readonly reason: string;
}

export const MIXED_ACCESS_TOKEN_SOURCES = 'Mixing Authorization headers and access_token query parameters.';
export const TOO_MANY_AUTHORIZATION_HEADERS = 'Too many Authorization headers.';

/**
 * The access token of a request, as Synapse reads it (synapse/api/auth/base.py
 * `get_access_token_from_request`): a request carrying an `Authorization` header (any value, even
 * empty) and an `access_token` query parameter (any value, even empty) is refused, whichever of
 * the two is valid; so is one with more than one `Authorization` header.
 *
 * `authorizationHeaders` are the values of every `Authorization` header the request carried
 * (Node keeps only the first in `headers`; the raw list shows the others).
 */
export function accessTokenOfRequest(
  authorizationHeaders: readonly string[],
  query: Readonly<Record<string, unknown>>,
): AccessTokenSource | AmbiguousAccessToken {
  const queryToken = Object.hasOwn(query, 'access_token') ? query['access_token'] : undefined;
  if (authorizationHeaders.length > 1) return { kind: 'ambiguous', reason: TOO_MANY_AUTHORIZATION_HEADERS };
  if (authorizationHeaders.length === 1 && queryToken !== undefined) return { kind: 'ambiguous', reason: MIXED_ACCESS_TOKEN_SOURCES };
  return extractAccessToken(authorizationHeaders[0], queryToken);
}

/** Values of every `Authorization` header in Node's raw header list (name, value, name, value, …). */
export function authorizationHeaderValues(rawHeaders: readonly string[]): string[] {
  const values: string[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    if (rawHeaders[index]!.toLowerCase() === 'authorization') values.push(rawHeaders[index + 1]!);
  }
  return values;
}
