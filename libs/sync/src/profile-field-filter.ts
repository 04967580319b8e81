import { MatrixErrors } from '@mx/matrix';

export const UNSTABLE_PROFILE_FIELDS_KEY = 'org.matrix.msc4429.profile_fields';
export const STABLE_PROFILE_FIELDS_KEY = 'profile_fields';

/**
 * The profile field ids a sync filter asks for (MSC4429). Both the unstable and the stable key
 * are read; when both are present their ids are merged. Ids are de-duplicated in first-seen
 * order. Absent: no ids. A malformed value is 400 M_BAD_JSON; more than `maxFields` distinct
 * ids is 400 M_INVALID_PARAM.
 */
export function requestedProfileFields(filter: Readonly<Record<string, unknown>>, maxFields: number): string[] {
  const ids: string[] = [];
  for (const key of [UNSTABLE_PROFILE_FIELDS_KEY, STABLE_PROFILE_FIELDS_KEY]) {
    if (!Object.hasOwn(filter, key)) continue;
    const section = filter[key];
    if (section === null || typeof section !== 'object' || Array.isArray(section)) {
      throw MatrixErrors.badJson(`${key} must be an object`);
    }
    const list = (section as Record<string, unknown>)['ids'];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((id) => typeof id !== 'string')) {
      throw MatrixErrors.badJson(`${key}.ids must be an array of strings`);
    }
    ids.push(...(list as string[]));
  }
  const unique = [...new Set(ids)];
  if (unique.length > maxFields) {
    throw MatrixErrors.invalidParam(`A filter may request at most ${maxFields} profile fields`);
  }
  return unique;
}
