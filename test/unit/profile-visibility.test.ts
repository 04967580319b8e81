import { describe, expect, it } from 'vitest';
import { LazyProfileCache, visibilityChanges, type VisibilityInput } from '@mx/sync';

const base: VisibilityInput = {
  me: '@me:hs',
  visibleNow: new Set(['@me:hs']),
  candidates: new Set(),
  sharingUnchangedRoom: new Set(),
  sharedThroughout: new Set(),
  membershipAtStart: new Map(),
};

describe('visibilityChanges', () => {
  it('finds users who became visible and users who departed', () => {
    const result = visibilityChanges({
      ...base,
      visibleNow: new Set(['@me:hs', '@new:hs']),
      candidates: new Set(['@new:hs', '@gone:hs']),
      membershipAtStart: new Map([
        [
          '!r:hs',
          new Map([
            ['@me:hs', 'join'],
            ['@gone:hs', 'join'],
            ['@new:hs', 'leave'],
          ]),
        ],
      ]),
    });
    expect([...result.newlyVisible]).toEqual(['@new:hs']);
    expect([...result.departed]).toEqual(['@gone:hs']);
    expect([...result.rejoined]).toEqual([]);
  });

  it('does not count a user who still shares an unchanged room as departed', () => {
    const result = visibilityChanges({
      ...base,
      visibleNow: new Set(['@me:hs', '@x:hs']),
      candidates: new Set(['@x:hs']),
      sharingUnchangedRoom: new Set(['@x:hs']),
      sharedThroughout: new Set(['@x:hs']),
    });
    expect(result.departed.size + result.rejoined.size + result.newlyVisible.size).toBe(0);
  });

  it('marks a user visible at both ends without a room shared throughout as rejoined', () => {
    const atStart = new Map([
      [
        '!r:hs',
        new Map([
          ['@me:hs', 'join'],
          ['@y:hs', 'join'],
        ]),
      ],
    ]);
    const lapsed = visibilityChanges({
      ...base,
      visibleNow: new Set(['@me:hs', '@y:hs']),
      candidates: new Set(['@y:hs']),
      membershipAtStart: atStart,
    });
    expect([...lapsed.rejoined]).toEqual(['@y:hs']);
    const steady = visibilityChanges({
      ...base,
      visibleNow: new Set(['@me:hs', '@y:hs']),
      candidates: new Set(['@y:hs']),
      membershipAtStart: atStart,
      sharedThroughout: new Set(['@y:hs']),
    });
    expect(steady.rejoined.size + steady.newlyVisible.size + steady.departed.size).toBe(0);
  });
});

describe('LazyProfileCache', () => {
  it('remembers per device, forgets the oldest device beyond its bound, and resets', () => {
    const cache = new LazyProfileCache(2);
    cache.remember('a', ['@x:hs']);
    cache.remember('b', ['@y:hs']);
    expect(cache.unsent('a', ['@x:hs', '@z:hs'])).toEqual(['@z:hs']);
    cache.remember('c', ['@x:hs']);
    expect(cache.unsent('a', ['@x:hs'])).toEqual(['@x:hs']);
    expect(cache.unsent('b', ['@y:hs'])).toEqual([]);
    cache.reset('b');
    expect(cache.unsent('b', ['@y:hs'])).toEqual(['@y:hs']);
  });
});
