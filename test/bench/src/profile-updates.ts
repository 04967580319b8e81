import { type Json } from './matrix-client.js';

/**
 * The MSC4429 section of a /sync response, read the way matrix-js-sdk reads it: `users` (stable) or
 * `org.matrix.msc4429.users`, each entry `{profile_updates: {field: value|null} | null}`. An entry that
 * is a bare field map (no `profile_updates` key) is accepted too.
 * `null` means "no longer visible" (the user left every shared room).
 */
export function profileUpdates(body: Json): Map<string, Record<string, unknown> | null> {
  const result = new Map<string, Record<string, unknown> | null>();
  const section = body['users'] ?? body['org.matrix.msc4429.users'];
  if (typeof section !== 'object' || section === null) return result;
  for (const [userId, entry] of Object.entries(section as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) {
      result.set(userId, null);
      continue;
    }
    if ('profile_updates' in entry) {
      const updates = (entry as Json)['profile_updates'];
      result.set(userId, typeof updates === 'object' && updates !== null ? (updates as Record<string, unknown>) : null);
    } else result.set(userId, entry as Record<string, unknown>);
  }
  return result;
}

/** The sync filter asking for profile fields (unstable name, as matrix-js-sdk sends it). */
export function profileFilter(fields: readonly string[], extra: Json = {}): Json {
  return { ...extra, 'org.matrix.msc4429.profile_fields': { ids: [...fields] } };
}
