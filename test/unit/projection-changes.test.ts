import { describe, expect, it } from 'vitest';
import { decodeProjectionChange, encodeProjectionChange } from '@mx/storage';

describe('projection change notifications', () => {
  it('carry which offsets of the batch the projection refused', () => {
    const change = {
      topic: 'mx.profile.v1',
      partition: 2,
      fromOffset: 10,
      nextOffset: 14,
      rejectedOffsets: [11],
      users: ['@a:x'],
      rooms: [],
    };
    expect(decodeProjectionChange(encodeProjectionChange(change))).toEqual(change);
  });

  it('keep the rejections when the user and room lists are too long to send, and drop them only when they do not fit either', () => {
    const users = Array.from({ length: 2000 }, (_, i) => `@user${i}:example.org`);
    const big = decodeProjectionChange(
      encodeProjectionChange({ topic: 't', partition: 0, fromOffset: 0, nextOffset: 5, rejectedOffsets: [3], users }),
    );
    expect(big).toEqual({ topic: 't', partition: 0, fromOffset: 0, nextOffset: 5, rejectedOffsets: [3] });
    const rejectedOffsets = Array.from({ length: 3000 }, (_, i) => i);
    const huge = decodeProjectionChange(
      encodeProjectionChange({ topic: 't', partition: 0, fromOffset: 0, nextOffset: 3000, rejectedOffsets }),
    );
    expect(huge).toEqual({ topic: 't', partition: 0, nextOffset: 3000 });
  });

  it('ignore rejections announced without the batch start (a reader could not tell which offsets were covered)', () => {
    expect(decodeProjectionChange(JSON.stringify({ topic: 't', partition: 0, nextOffset: 5, rejectedOffsets: [1] }))).toEqual({
      topic: 't',
      partition: 0,
      nextOffset: 5,
    });
  });

  it('carry the profile changes a batch applied, removals included, and drop them first when the payload is too large', () => {
    const change = {
      topic: 'mx.profile.v1',
      partition: 1,
      fromOffset: 4,
      nextOffset: 7,
      rejectedOffsets: [],
      users: ['@a:x', '@b:x'],
      rooms: ['!r:x'],
      profileChanges: [
        { offset: 4, userId: '@a:x', field: 'm.tz', isSet: true, value: { nested: [1, 'two'] } },
        { offset: 6, userId: '@b:x', field: 'm.status', isSet: false, value: null },
      ],
    };
    expect(decodeProjectionChange(encodeProjectionChange(change))).toEqual(change);
    const large = { ...change, profileChanges: [{ offset: 4, userId: '@a:x', field: 'm.tz', isSet: true, value: 'x'.repeat(8000) }] };
    const { profileChanges: _dropped, ...rest } = large;
    expect(decodeProjectionChange(encodeProjectionChange(large))).toEqual(rest);
  });

  it('read a list with a malformed profile change as not announced (a partial list would read as "nothing else changed")', () => {
    const payload = JSON.stringify({
      topic: 't',
      partition: 0,
      fromOffset: 0,
      nextOffset: 2,
      profileChanges: [
        [0, '@a:x', 'm.tz', 1],
        [1, 5],
      ],
    });
    expect(decodeProjectionChange(payload)).toEqual({ topic: 't', partition: 0, nextOffset: 2 });
  });
});
