import { AVATAR_URL, DISPLAYNAME, TIME_ZONE } from '@mx/matrix';

/** `mxc://<server-name>/<media-id>` (spec: Content repository → Matrix Content URI). */
const MXC_URI = /^mxc:\/\/[A-Za-z0-9.:[\]-]+\/[A-Za-z0-9_-]+$/;
/** IANA names: `Area/Location[/Sub]` or single names such as `UTC`; never offsets like `+01:00`. */
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

export function isIanaTimeZone(value: string): boolean {
  if (!IANA_NAME.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks a value against the rules of the field it is for (spec profile.yaml, MSC4133, MSC4175):
 * returns null when acceptable, or the reason. Fields without rules take any JSON value.
 */
export function checkProfileValue(field: string, value: unknown): string | null {
  if (field === DISPLAYNAME) return typeof value === 'string' ? null : 'displayname must be a string';
  if (field === AVATAR_URL) return typeof value === 'string' && MXC_URI.test(value) ? null : 'avatar_url must be an mxc:// URI';
  if (field === TIME_ZONE) return typeof value === 'string' && isIanaTimeZone(value) ? null : 'm.tz must be an IANA time zone name';
  return null;
}
