import { describe, expect, it } from 'vitest';
import { checkProfileValue, clearsProfileField, isIanaTimeZone, ProfileFieldPolicy } from '@mx/profile';

describe('checkProfileValue', () => {
  it('applies the spec rules to displayname, avatar_url and m.tz', () => {
    expect(checkProfileValue('displayname', 'Alice')).toBeNull();
    expect(checkProfileValue('displayname', 5)).not.toBeNull();
    expect(checkProfileValue('avatar_url', 'mxc://example.org/abc123')).toBeNull();
    expect(checkProfileValue('avatar_url', 'https://example.org/a.png')).toBeNull();
    expect(checkProfileValue('avatar_url', '')).toBeNull();
    for (const bad of [5, null, { url: 'mxc://example.org/abc123' }])
      expect(checkProfileValue('avatar_url', bad), JSON.stringify(bad)).not.toBeNull();
    expect(checkProfileValue('m.tz', 'Europe/Paris')).toBeNull();
    expect(checkProfileValue('m.tz', 'UTC')).toBeNull();
    expect(checkProfileValue('m.tz', 'America/Argentina/Buenos_Aires')).toBeNull();
    for (const bad of ['Mars/Olympus', '+01:00', 'Europe/', '', 5, null])
      expect(checkProfileValue('m.tz', bad), String(bad)).not.toBeNull();
  });

  it('treats "" as clearing displayname and avatar_url only', () => {
    expect(clearsProfileField('avatar_url', '')).toBe(true);
    expect(clearsProfileField('displayname', '')).toBe(true);
    expect(clearsProfileField('displayname', ' ')).toBe(false);
    expect(clearsProfileField('com.example.x', '')).toBe(false);
    expect(clearsProfileField('m.tz', '')).toBe(false);
  });

  it('accepts any JSON value for other fields', () => {
    for (const value of [null, 1, 'x', [1], { a: { b: [] } }, true]) expect(checkProfileValue('com.example.x', value)).toBeNull();
  });

  it('recognises IANA zone names only', () => {
    expect(isIanaTimeZone('Asia/Kolkata')).toBe(true);
    expect(isIanaTimeZone('-05:00')).toBe(false);
  });
});

describe('ProfileFieldPolicy', () => {
  it('lets an allow-list win over a deny-list', () => {
    const policy = new ProfileFieldPolicy(['m.tz'], ['m.tz', 'x']);
    expect(policy.mayChange('m.tz')).toBe(true);
    expect(policy.mayChange('displayname')).toBe(false);
    expect(policy.capability()).toEqual({ enabled: true, allowed: ['m.tz'] });
  });

  it('denies only the deny-list otherwise', () => {
    const policy = new ProfileFieldPolicy(undefined, ['org.example.forbidden']);
    expect(policy.mayChange('org.example.forbidden')).toBe(false);
    expect(policy.mayChange('displayname')).toBe(true);
    expect(policy.capability()).toEqual({ enabled: true, disallowed: ['org.example.forbidden'] });
    expect(new ProfileFieldPolicy(undefined, undefined).capability()).toEqual({ enabled: true });
  });
});
