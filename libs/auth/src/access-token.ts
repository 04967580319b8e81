import { createHash, randomBytes } from 'node:crypto';

/**
 * Access tokens: `mxp1_` + 32 random bytes, base64url. The prefix carries the format version so a
 * later format can be told apart. Only the SHA-256 of a token is ever stored.
 */
export const ACCESS_TOKEN_PREFIX = 'mxp1_';

export function generateAccessToken(): string {
  return ACCESS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashAccessToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
