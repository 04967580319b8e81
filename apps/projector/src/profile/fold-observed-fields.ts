import type { ProfileFieldObserved } from '@mx/events';
import type { profileFields } from '@mx/storage';

/**
 * Companion mode: of the `displayname` / `avatar_url` values member events observed from the
 * homeserver carried (profile topic, `profile.field.observed`), the latest per (user, field) by the
 * member event's `origin_server_ts` (of equal ones, the first in log order). The store keeps it
 * only when newer than what it has (profileFields.upsertObserved), so a retried transaction or the
 * homeserver's history replay never takes effect twice or goes back in time. Pure.
 */
export function latestObservedFields(
  entries: readonly { readonly offset: number; readonly entry: ProfileFieldObserved }[],
): profileFields.LatestFieldChange[] {
  const latest = new Map<string, profileFields.LatestFieldChange>();
  for (const { offset, entry } of entries) {
    const key = JSON.stringify([entry.user_id, entry.field]);
    const previous = latest.get(key);
    if (previous !== undefined && previous.ts >= entry.ts) continue;
    latest.set(key, { userId: entry.user_id, field: entry.field, isSet: entry.value !== null, value: entry.value, offset, ts: entry.ts });
  }
  return [...latest.values()];
}
