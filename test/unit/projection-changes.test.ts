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
});
