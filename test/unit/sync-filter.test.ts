import { describe, expect, it } from 'vitest';
import { MatrixError } from '@mx/matrix';
import { includesRoom, parseSyncFilter } from '@mx/sync';

describe('room.rooms and room.not_rooms', () => {
  const filter = (room: unknown) => parseSyncFilter({ room }, 100);

  it('include every room when absent', () => {
    const all = filter({});
    expect(all.rooms).toBeUndefined();
    expect(includesRoom(all, '!a:example.org')).toBe(true);
  });

  it('include only the listed rooms, and none for an empty list', () => {
    expect(includesRoom(filter({ rooms: ['!a:example.org'] }), '!a:example.org')).toBe(true);
    expect(includesRoom(filter({ rooms: ['!a:example.org'] }), '!b:example.org')).toBe(false);
    expect(includesRoom(filter({ rooms: [] }), '!a:example.org')).toBe(false);
  });

  it('exclude not_rooms, even when listed in rooms', () => {
    expect(includesRoom(filter({ not_rooms: ['!a:example.org'] }), '!a:example.org')).toBe(false);
    expect(includesRoom(filter({ not_rooms: ['!a:example.org'] }), '!b:example.org')).toBe(true);
    expect(includesRoom(filter({ rooms: ['!a:example.org'], not_rooms: ['!a:example.org'] }), '!a:example.org')).toBe(false);
  });

  it('must be lists of strings (400 M_BAD_JSON)', () => {
    for (const room of [{ rooms: '!a:example.org' }, { rooms: null }, { not_rooms: [1] }, { not_rooms: {} }]) {
      let error: unknown;
      try {
        filter(room);
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(room)).toBeInstanceOf(MatrixError);
      expect((error as MatrixError).errcode).toBe('M_BAD_JSON');
    }
  });
});
