import { describe, expect, it } from 'vitest';
import {
  LazyProfileCache,
  roomsWhereMembershipChanged,
  roomsWithMemberEvents,
  sharedThroughoutWindow,
  visibilityCandidates,
  visibilityChanges,
  type VisibilityInput,
  type VisibilityWindowFacts,
  windowVisibilityInput,
} from '@mx/sync';

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

describe('the window’s facts', () => {
  const facts: VisibilityWindowFacts = {
    me: '@me:hs',
    visibleNow: new Set(['@me:hs', '@y:hs']),
    memberEvents: [],
    candidates: new Set(['@y:hs']),
    sharingUnchangedRoom: new Set(),
    membershipAtStart: new Map([
      [
        '!r:hs',
        new Map([
          ['@me:hs', 'join'],
          ['@y:hs', 'join'],
        ]),
      ],
    ]),
    membershipNow: [
      { roomId: '!r:hs', userId: '@me:hs', membership: 'join' },
      { roomId: '!r:hs', userId: '@y:hs', membership: 'join' },
    ],
  };
  const topicChange = { roomId: '!r:hs', userId: '@z:hs', membership: 'join' };

  it('candidates: everyone a member event touched, and every member where my own membership changed; never me', () => {
    const events = [
      { roomId: '!a:hs', userId: '@x:hs', membership: 'join' },
      { roomId: '!b:hs', userId: '@me:hs', membership: 'join' },
      { roomId: '!b:hs', userId: '@me:hs', membership: 'leave' },
    ];
    expect(roomsWithMemberEvents(events)).toEqual(['!a:hs', '!b:hs']);
    expect(roomsWhereMembershipChanged('@me:hs', events)).toEqual(['!b:hs']);
    expect([...visibilityCandidates('@me:hs', events, ['@me:hs', '@w:hs', '@x:hs'])].sort()).toEqual(['@w:hs', '@x:hs']);
  });

  it('shared throughout: both joined at the start and now in a changed room, neither left, kicked or banned meanwhile', () => {
    expect([...sharedThroughoutWindow({ ...facts, memberEvents: [topicChange] })]).toEqual(['@y:hs']);
  });

  it('not shared throughout when either left (or was kicked) and joined again in the window', () => {
    for (const lapsed of ['@y:hs', '@me:hs']) {
      const memberEvents = [
        { roomId: '!r:hs', userId: lapsed, membership: 'leave' },
        { roomId: '!r:hs', userId: lapsed, membership: 'join' },
      ];
      expect(sharedThroughoutWindow({ ...facts, memberEvents }).size).toBe(0);
    }
  });

  it('not shared throughout after a ban, even one lifted and followed by a join', () => {
    const memberEvents = [
      { roomId: '!r:hs', userId: '@y:hs', membership: 'ban' },
      { roomId: '!r:hs', userId: '@y:hs', membership: 'leave' },
      { roomId: '!r:hs', userId: '@y:hs', membership: 'join' },
    ];
    expect(sharedThroughoutWindow({ ...facts, memberEvents }).size).toBe(0);
  });

  it('not shared throughout when not joined at the start, or not joined now', () => {
    const notAtStart = new Map([
      [
        '!r:hs',
        new Map([
          ['@me:hs', 'join'],
          ['@y:hs', 'invite'],
        ]),
      ],
    ]);
    expect(sharedThroughoutWindow({ ...facts, memberEvents: [topicChange], membershipAtStart: notAtStart }).size).toBe(0);
    const notNow = [
      { roomId: '!r:hs', userId: '@me:hs', membership: 'join' },
      { roomId: '!r:hs', userId: '@y:hs', membership: 'invite' },
    ];
    expect(sharedThroughoutWindow({ ...facts, memberEvents: [topicChange], membershipNow: notNow }).size).toBe(0);
  });

  it('a room without member events in the window counts as shared throughout', () => {
    const memberEvents = [{ roomId: '!r:hs', userId: '@y:hs', membership: 'leave' }];
    expect([...sharedThroughoutWindow({ ...facts, memberEvents, sharingUnchangedRoom: new Set(['@y:hs']) })]).toEqual(['@y:hs']);
  });

  it('one room shared steadily is enough, whatever happened in another', () => {
    const membershipAtStart = new Map([
      ...facts.membershipAtStart,
      [
        '!s:hs',
        new Map([
          ['@me:hs', 'join'],
          ['@y:hs', 'join'],
        ]),
      ],
    ]);
    const membershipNow = [...facts.membershipNow, { roomId: '!s:hs', userId: '@me:hs', membership: 'join' }];
    const memberEvents = [topicChange, { roomId: '!s:hs', userId: '@y:hs', membership: 'leave' }];
    expect([...sharedThroughoutWindow({ ...facts, memberEvents, membershipAtStart, membershipNow })]).toEqual(['@y:hs']);
  });

  it('decides visibilityChanges’ input: a lapse in the only shared room makes a rejoin', () => {
    const memberEvents = [
      { roomId: '!r:hs', userId: '@y:hs', membership: 'leave' },
      { roomId: '!r:hs', userId: '@y:hs', membership: 'join' },
    ];
    const input = windowVisibilityInput({ ...facts, memberEvents });
    expect(input.sharedThroughout.size).toBe(0);
    expect([...visibilityChanges(input).rejoined]).toEqual(['@y:hs']);
    const steady = windowVisibilityInput({ ...facts, memberEvents: [topicChange] });
    const changes = visibilityChanges(steady);
    expect(changes.rejoined.size + changes.newlyVisible.size + changes.departed.size).toBe(0);
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
