import { AVATAR_URL, DISPLAYNAME, TIME_ZONE } from '@mx/matrix';

/** IANA names: `Area/Location[/Sub]` or single names such as `UTC`; never offsets like `+01:00`. */
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/**
 * `""` for displayname or avatar_url clears the field, as in Synapse and as clients use it: the
 * change is stored as a deletion, so the field disappears from the profile and member events.
 */
export function clearsProfileField(field: string, value: unknown): boolean {
  return value === '' && (field === DISPLAYNAME || field === AVATAR_URL);
}

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
 *
 * `avatar_url` takes any string: the spec says it MUST be an `mxc://` URI, but Synapse accepts any
 * string, Complement's TestAvatarUrlUpdate sets `"LemurLover"`, and clients clear an avatar with
 * `""` (matrix-js-sdk `setAvatarUrl("")`); clients only render `mxc://` URIs anyway. `m.tz` is
 * validated as MSC4175 allows (400 M_INVALID_PARAM for a name the IANA database lacks).
 */
export function checkProfileValue(field: string, value: unknown): string | null {
  if (field === DISPLAYNAME) return typeof value === 'string' ? null : 'displayname must be a string';
  if (field === AVATAR_URL) return typeof value === 'string' ? null : 'avatar_url must be a string';
  if (field === TIME_ZONE) return typeof value === 'string' && isIanaTimeZone(value) ? null : 'm.tz must be an IANA time zone name';
  return null;
}
