import { describe, expect, it } from 'vitest';
import { MatrixError } from '@mx/matrix';
import { requestedProfileFields } from '@mx/sync';

function errcodeOf(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return error instanceof MatrixError ? error.errcode : 'not a MatrixError';
  }
}

describe('requestedProfileFields', () => {
  it('defaults to no fields', () => {
    expect(requestedProfileFields({}, 10)).toEqual([]);
    expect(requestedProfileFields({ 'org.matrix.msc4429.profile_fields': {} }, 10)).toEqual([]);
  });

  it('reads the unstable and the stable key, merging and de-duplicating in first-seen order', () => {
    expect(requestedProfileFields({ 'org.matrix.msc4429.profile_fields': { ids: ['m.tz', 'm.status', 'm.tz'] } }, 10)).toEqual([
      'm.tz',
      'm.status',
    ]);
    expect(requestedProfileFields({ profile_fields: { ids: ['displayname'] } }, 10)).toEqual(['displayname']);
    expect(
      requestedProfileFields(
        { 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] }, profile_fields: { ids: ['displayname', 'm.tz'] } },
        10,
      ),
    ).toEqual(['m.tz', 'displayname']);
  });

  it('answers malformed sections with M_BAD_JSON and too many ids with M_INVALID_PARAM', () => {
    expect(errcodeOf(() => requestedProfileFields({ 'org.matrix.msc4429.profile_fields': { ids: 'm.tz' } }, 10))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => requestedProfileFields({ 'org.matrix.msc4429.profile_fields': { ids: [1] } }, 10))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => requestedProfileFields({ profile_fields: [] }, 10))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => requestedProfileFields({ profile_fields: null }, 10))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => requestedProfileFields({ profile_fields: { ids: ['a', 'b', 'c'] } }, 2))).toBe('M_INVALID_PARAM');
    expect(requestedProfileFields({ profile_fields: { ids: ['a', 'a', 'b'] } }, 2)).toEqual(['a', 'b']);
  });
});
