/** Profile field names (MSC4133, spec v1.16+ `profile.yaml`). */

export const MAX_PROFILE_KEY_BYTES = 255;

/** Fields the spec defines with their own value rules. */
export const DISPLAYNAME = 'displayname';
export const AVATAR_URL = 'avatar_url';
export const TIME_ZONE = 'm.tz';

/** Common Namespaced Identifier Grammar, as the reference homeserver applies it to profile keys. */
const NAMESPACED_KEY = /^[a-z][a-z0-9._-]*$/;

export type ProfileKeyProblem = 'too_large' | 'invalid';

/** Returns null when `key` may name a profile field, or why it may not. */
export function checkProfileKey(key: string): ProfileKeyProblem | null {
  if (Buffer.byteLength(key, 'utf8') > MAX_PROFILE_KEY_BYTES) return 'too_large';
  if (key === DISPLAYNAME || key === AVATAR_URL || key === TIME_ZONE) return null;
  return NAMESPACED_KEY.test(key) ? null : 'invalid';
}
