import { describe, expect, it } from 'vitest';
import { MatrixError } from '@mx/matrix';
import { MAX_FILTER_BYTES, parseSyncFilter, StoredFilterCache } from '@mx/sync';

const errcodeOf = (parse: () => unknown): string | undefined => {
  try {
    parse();
  } catch (error) {
    return error instanceof MatrixError ? error.errcode : 'not a MatrixError';
  }
  return undefined;
};

describe('StoredFilterCache', () => {
  const text = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] }, room: { not_rooms: ['!a:example.org'] } });

  it('parses a stored filter as parseSyncFilter does, once per text: long-polls naming it share the parsed filter', () => {
    const cache = new StoredFilterCache(100);
    const first = cache.parse(text);
    expect(first).toEqual(parseSyncFilter(JSON.parse(text) as Record<string, unknown>, 100));
    expect(cache.parse(text)).toBe(first);
    expect(cache.parse(`${text} `)).not.toBe(first);
  });

  it('keeps no text that does not parse: the same error every time', () => {
    const cache = new StoredFilterCache(100);
    const bad = JSON.stringify({ room: { rooms: 'not a list' } });
    expect(errcodeOf(() => cache.parse(bad))).toBe('M_BAD_JSON');
    expect(errcodeOf(() => cache.parse(bad))).toBe('M_BAD_JSON');
  });

  it('refuses a text beyond the size cap (stored before the cap existed) with 413 M_TOO_LARGE', () => {
    const cache = new StoredFilterCache(100);
    const large = JSON.stringify({ room: { not_rooms: Array.from({ length: MAX_FILTER_BYTES / 16 }, (_, i) => `!room${i}:example.org`) } });
    expect(errcodeOf(() => cache.parse(large))).toBe('M_TOO_LARGE');
  });

  it('applies its profile-field limit', () => {
    const fields = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['a', 'b', 'c'] } });
    expect(errcodeOf(() => new StoredFilterCache(2).parse(fields))).toBe(
      errcodeOf(() => parseSyncFilter(JSON.parse(fields) as Record<string, unknown>, 2)),
    );
    expect(errcodeOf(() => new StoredFilterCache(2).parse(fields))).toBeDefined();
  });
});
