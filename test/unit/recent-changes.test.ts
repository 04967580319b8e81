import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  answerFromMemory,
  type HeardCommit,
  type MembershipView,
  MembershipViews,
  type ProfileFieldUpdate,
  RecentChanges,
  type SyncPositions,
  viewStillTrue,
} from '@mx/sync';

const positions = (profile: number[], membership: number[] = [0]): SyncPositions => ({ epoch: 'e', profile, membership });
const set = (offset: number, userId: string, field: string, value: unknown): ProfileFieldUpdate => ({
  offset,
  userId,
  field,
  isSet: true,
  value,
});
const removed = (offset: number, userId: string, field: string): ProfileFieldUpdate => ({
  offset,
  userId,
  field,
  isSet: false,
  value: null,
});
const profileCommit = (
  partition: number,
  fromOffset: number | undefined,
  nextOffset: number,
  changes?: ProfileFieldUpdate[],
): HeardCommit => ({
  topic: 'profile',
  partition,
  ...(fromOffset === undefined ? {} : { fromOffset }),
  nextOffset,
  ...(changes ? { profileChanges: changes } : {}),
  bytes: 100,
});
const membershipCommit = (fromOffset: number, nextOffset: number, users?: string[], rooms?: string[]): HeardCommit => ({
  topic: 'membership',
  partition: 0,
  fromOffset,
  nextOffset,
  ...(users ? { users } : {}),
  ...(rooms ? { rooms } : {}),
  bytes: 100,
});
const changesSince = (recent: RecentChanges, since: number[], current: number[]): ProfileFieldUpdate[] => {
  const changes: ProfileFieldUpdate[] = [];
  recent.forEachProfileChangeSince(since, current, (change) => changes.push(change));
  return changes;
};
const view = (joinedRooms: string[], visible: string[], membership = [0]): MembershipView => ({
  joinedRooms: new Set(joinedRooms),
  visible: new Set(visible),
  membership,
});

describe('recent changes (the sync API memory window)', () => {
  it('covers a token inside a gap-free run of commits and yields the changes after it', () => {
    const recent = new RecentChanges(1 << 20);
    recent.heard(profileCommit(0, 0, 2, [set(0, '@a:x', 'm.tz', 'UTC'), set(1, '@b:x', 'm.tz', 'CET')]));
    recent.heard(profileCommit(0, 2, 3, [removed(2, '@a:x', 'm.tz')]));
    expect(recent.covers(positions([0]), positions([3]))).toBe(true);
    expect(recent.covers(positions([2]), positions([3]))).toBe(true);
    expect(changesSince(recent, [2], [3])).toEqual([removed(2, '@a:x', 'm.tz')]);
    expect(changesSince(recent, [0], [2]).map((change) => change.offset)).toEqual([0, 1]);
    // Ahead of what was heard: not covered.
    expect(recent.covers(positions([4]), positions([3]))).toBe(false);
  });

  it('restarts a partition after a gap, after a batch announced without its changes, and after missed notifications', () => {
    const recent = new RecentChanges(1 << 20);
    recent.heard(profileCommit(0, 0, 2, []));
    recent.heard(profileCommit(0, 5, 6, [])); // offsets 2..4 never heard
    expect(recent.covers(positions([0]), positions([6]))).toBe(false);
    expect(recent.covers(positions([5]), positions([6]))).toBe(true);
    recent.heard(profileCommit(0, 6, 8)); // too large to announce its changes
    expect(recent.covers(positions([6]), positions([8]))).toBe(false);
    recent.heard(profileCommit(0, 8, 9, []));
    expect(recent.covers(positions([8]), positions([9]))).toBe(true);
    recent.forgetAll();
    expect(recent.covers(positions([8]), positions([9]))).toBe(false);
    expect(recent.size).toBe(0);
    // A partition where the token equals the current position needs nothing.
    expect(recent.covers(positions([9]), positions([9]))).toBe(true);
  });

  it('keeps at most its byte bound, dropping the oldest commits first, of any partition', () => {
    const recent = new RecentChanges(250);
    recent.heard(profileCommit(0, 0, 1, []));
    recent.heard(profileCommit(1, 0, 1, []));
    recent.heard(profileCommit(0, 1, 2, []));
    expect(recent.size).toBeLessThanOrEqual(250);
    expect(recent.covers(positions([0, 1]), positions([2, 1]))).toBe(false);
    expect(recent.covers(positions([1, 0]), positions([2, 1]))).toBe(true);
    const none = new RecentChanges(0);
    none.heard(profileCommit(0, 0, 1, []));
    expect(none.covers(positions([0]), positions([1]))).toBe(false);
  });

  it('keeps no memory for commits it dropped, however many restarts there are', () => {
    const recent = new RecentChanges(1 << 30);
    for (let offset = 0; offset < 20_000; offset += 2) {
      recent.heard(profileCommit(0, offset, offset + 1, []));
      recent.heard(profileCommit(0, offset + 1, offset + 2)); // unknown: restarts the window
    }
    expect(recent.size).toBe(0);
    expect((recent as unknown as { queue: unknown[] }).queue.length).toBeLessThan(3000);
  });

  it('visits the same changes of a user from its index as a walk of the window does, whatever was lost, evicted or re-partitioned (property)', () => {
    const users = ['@a:x', '@b:x', '@c:x', '@d:x'];
    const batch = fc.record({
      partition: fc.integer({ min: 0, max: 2 }),
      changes: fc.array(fc.record({ user: fc.constantFrom(...users), value: fc.integer({ min: 0, max: 9 }) }), { maxLength: 4 }),
      announced: fc.boolean(),
      gap: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(batch, { maxLength: 30 }),
        fc.integer({ min: 150, max: 4000 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { minLength: 1, maxLength: 4 }),
        (batches, maxBytes, tokenPicks) => {
          const recent = new RecentChanges(maxBytes);
          const next = [0, 0, 0];
          for (const { partition, changes, announced, gap } of batches) {
            const from = next[partition]! + (gap ? 1 : 0);
            const updates = changes.map(({ user, value }, index) => set(from + index, user, 'm.tz', value));
            const end = from + Math.max(1, updates.length);
            recent.heard(profileCommit(partition, from, end, announced ? updates : undefined));
            next[partition] = end;
          }
          const current = [...next];
          // Across partitions there is no order (a user on two of them only after a re-partitioning): compare sorted.
          const sorted = (changes: ProfileFieldUpdate[]) =>
            [...changes].sort((x, y) => x.offset - y.offset || x.userId.localeCompare(y.userId) || Number(x.value) - Number(y.value));
          for (const picks of tokenPicks) {
            const since = picks.map((pick, partition) => pick % (next[partition]! + 1));
            const walked = changesSince(recent, since, current);
            for (const user of users) {
              const indexed: ProfileFieldUpdate[] = [];
              recent.forEachChangeOfUser(user, since, current, (change) => indexed.push(change));
              expect(sorted(indexed)).toEqual(sorted(walked.filter((change) => change.userId === user)));
            }
            const others = new Set(users.slice(1, 1 + (picks[0] % users.length)));
            const chosen: ProfileFieldUpdate[] = [];
            recent.forEachProfileChangeOf('@a:x', others, since, current, (change) => chosen.push(change));
            expect(sorted(chosen)).toEqual(sorted(walked.filter((change) => change.userId === '@a:x' || others.has(change.userId))));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('forgets the index of what it drops: no user is indexed once every commit is gone', () => {
    const recent = new RecentChanges(400);
    for (let offset = 0; offset < 200; offset++)
      recent.heard(profileCommit(offset % 2, offset, offset + 1, [set(offset, `@u${offset}:x`, 'm.tz', 1)]));
    const indexedUsers = () => (recent as unknown as { byUser: Map<string, unknown> }).byUser.size;
    expect(indexedUsers()).toBeLessThan(10);
    recent.forgetAll();
    expect(indexedUsers()).toBe(0);
  });

  it('tells whether a membership commit after the token concerns a user, by name or by room', () => {
    const recent = new RecentChanges(1 << 20);
    recent.heard(membershipCommit(0, 1, ['@c:x'], ['!other:x']));
    recent.heard(membershipCommit(1, 2, ['@b:x'], ['!shared:x']));
    expect(recent.membershipQuiet([0], '@a:x', new Set(['!mine:x']))).toBe(true);
    expect(recent.membershipQuiet([0], '@a:x', new Set(['!shared:x']))).toBe(false);
    expect(recent.membershipQuiet([2], '@a:x', new Set(['!shared:x']))).toBe(true);
    expect(recent.membershipQuiet([0], '@b:x', new Set())).toBe(false);
    // A membership commit without its lists is not known: the window restarts after it.
    recent.heard(membershipCommit(2, 3));
    expect(recent.covers(positions([0], [2]), positions([0], [3]))).toBe(false);
  });
});

describe('an incremental sync answered from memory', () => {
  it('is the latest value of each requested field of the user and of users they share a room with; removals are null', () => {
    const recent = new RecentChanges(1 << 20);
    recent.heard(
      profileCommit(0, 0, 4, [
        set(0, '@a:x', 'm.tz', 'UTC'),
        set(1, '@b:x', 'm.tz', 'CET'),
        set(2, '@stranger:x', 'm.tz', 'EST'),
        set(3, '@b:x', 'com.example.other', 1),
      ]),
    );
    recent.heard(profileCommit(0, 4, 6, [removed(4, '@a:x', 'm.tz'), set(5, '@b:x', 'm.tz', 'WET')]));
    const answer = answerFromMemory(recent, view(['!r:x'], ['@a:x', '@b:x']), '@a:x', positions([0]), positions([6]), ['m.tz']);
    expect(answer).toEqual({
      kind: 'answer',
      users: new Map([
        ['@a:x', { 'm.tz': null }],
        ['@b:x', { 'm.tz': 'WET' }],
      ]),
    });
    // The user's own changes count even in no room.
    const alone = answerFromMemory(recent, view([], []), '@a:x', positions([0]), positions([4]), ['m.tz']);
    expect(alone).toEqual({ kind: 'answer', users: new Map([['@a:x', { 'm.tz': 'UTC' }]]) });
    // No fields asked: nothing.
    expect(answerFromMemory(recent, view([], []), '@a:x', positions([0]), positions([6]), [])).toEqual({
      kind: 'answer',
      users: new Map(),
    });
  });

  it('falls back to the database outside the window, for a view newer than the commits heard, and on a membership change of the user', () => {
    const recent = new RecentChanges(1 << 20);
    recent.heard(profileCommit(0, 3, 4, []));
    recent.heard(membershipCommit(0, 1, ['@b:x'], ['!r:x']));
    const mine = view(['!r:x'], ['@a:x', '@b:x'], [1]);
    expect(answerFromMemory(recent, mine, '@a:x', positions([0], [1]), positions([4], [1]), ['m.tz'])).toEqual({
      kind: 'fallback',
      reason: 'window',
    });
    expect(answerFromMemory(recent, view([], [], [2]), '@a:x', positions([3], [1]), positions([4], [1]), ['m.tz'])).toEqual({
      kind: 'fallback',
      reason: 'view',
    });
    expect(answerFromMemory(recent, mine, '@a:x', positions([3], [0]), positions([4], [1]), ['m.tz'])).toEqual({
      kind: 'fallback',
      reason: 'membership',
    });
    expect(answerFromMemory(recent, view(['!q:x'], [], [1]), '@a:x', positions([3], [0]), positions([4], [1]), ['m.tz']).kind).toBe(
      'answer',
    );
  });

  it('matches the projection rule for any history of profile commits, whatever was lost or evicted (property)', () => {
    const users = ['@a:x', '@b:x', '@c:x'];
    const fields = ['m.tz', 'x.y'];
    // A user's records are all on one partition, as the writer keys them: @a and @c on 0, @b on 1.
    const onPartition = [['@a:x', '@c:x'], ['@b:x']];
    const change = fc.record({
      user: fc.nat(),
      field: fc.constantFrom(...fields),
      value: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    });
    const batch = fc.record({
      partition: fc.integer({ min: 0, max: 1 }),
      changes: fc.array(change, { maxLength: 4 }),
      announced: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(batch, { maxLength: 25 }),
        fc.integer({ min: 150, max: 3000 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 5 }),
        (batches, maxBytes, tokenPicks) => {
          const recent = new RecentChanges(maxBytes);
          const next = [0, 0];
          const log: { partition: number; update: ProfileFieldUpdate }[] = [];
          const boundaries: number[][] = [[0], [0]];
          for (const { partition, changes, announced } of batches) {
            const from = next[partition]!;
            const updates = changes.map(({ user: pick, field, value }, index) => {
              const user = onPartition[partition]![pick % onPartition[partition]!.length]!;
              return value === undefined ? removed(from + index, user, field) : set(from + index, user, field, value);
            });
            const end = from + Math.max(1, updates.length);
            // The fold announces the latest change per (user, field).
            const latest = new Map(updates.map((update) => [`${update.userId}|${update.field}`, update]));
            recent.heard(profileCommit(partition, from, end, announced ? [...latest.values()] : undefined));
            for (const update of updates) log.push({ partition, update });
            next[partition] = end;
            boundaries[partition]!.push(end);
          }
          const current = positions([...next]);
          for (const [pick0, pick1] of tokenPicks) {
            const since = positions([boundaries[0]![pick0 % boundaries[0]!.length]!, boundaries[1]![pick1 % boundaries[1]!.length]!]);
            const answer = answerFromMemory(recent, view(['!r:x'], users), '@a:x', since, current, ['m.tz']);
            if (answer.kind === 'fallback') {
              expect(answer.reason).toBe('window');
              continue;
            }
            // The projection's rule: per (user, field) its latest change overall, when at or after the token.
            const expected = new Map<string, Record<string, unknown>>();
            const latest = new Map<string, { partition: number; update: ProfileFieldUpdate }>();
            for (const entry of log) latest.set(`${entry.update.userId}|${entry.update.field}`, entry);
            for (const { partition, update } of latest.values()) {
              if (update.field !== 'm.tz' || update.offset < since.profile[partition]!) continue;
              expected.set(update.userId, { ...(expected.get(update.userId) ?? {}), [update.field]: update.isSet ? update.value : null });
            }
            expect(answer.users).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('membership views', () => {
  it('are forgotten when a commit names their user, touches one of their rooms, or lists nothing', () => {
    const views = new MembershipViews(1 << 20);
    views.set('@a:x', view(['!r:x'], ['@a:x', '@b:x']));
    views.set('@c:x', view(['!q:x'], ['@c:x']));
    views.heard({ users: ['@z:x'], rooms: ['!other:x'] });
    expect(views.size).toBe(2);
    views.heard({ users: ['@z:x'], rooms: ['!r:x'] });
    expect(views.get('@a:x')).toBeUndefined();
    expect(views.get('@c:x')).toBeDefined();
    views.heard({ users: ['@c:x'], rooms: [] });
    expect(views.get('@c:x')).toBeUndefined();
    views.set('@a:x', view(['!r:x'], ['@a:x']));
    views.heard({});
    expect(views.size).toBe(0);
  });

  it('keep at most their byte bound, the least recently used first out', () => {
    const views = new MembershipViews(2000);
    for (let i = 0; i < 10; i++) views.set(`@u${i}:x`, view([`!r${i}:x`], [`@u${i}:x`]));
    expect(views.size).toBeLessThan(10);
    expect(views.get('@u9:x')).toBeDefined();
    expect(views.get('@u0:x')).toBeUndefined();
    // A view larger than the bound is not kept.
    const tiny = new MembershipViews(100);
    tiny.set('@a:x', view(['!r:x'], ['@a:x']));
    expect(tiny.size).toBe(0);
    // Views pushed out leave the room index too: it stays as small as the views kept.
    for (let i = 0; i < 10_000; i++) views.set(`@v${i}:x`, view([`!room${i}:x`], [`@v${i}:x`]));
    expect((views as unknown as { byRoom: Map<string, unknown> }).byRoom.size).toBe(views.size);
    expect((tiny as unknown as { byRoom: Map<string, unknown> }).byRoom.size).toBe(0);
  });

  it('read before a commit heard after its positions is not trusted when the commit concerns it', () => {
    const recent = new RecentChanges(1 << 20);
    const read = view(['!r:x'], ['@a:x'], [0]);
    recent.heard(membershipCommit(0, 1, ['@b:x'], ['!elsewhere:x']));
    expect(viewStillTrue(recent, '@a:x', read, positions([0], [1]))).toBe(true);
    recent.heard(membershipCommit(1, 2, ['@b:x'], ['!r:x']));
    expect(viewStillTrue(recent, '@a:x', read, positions([0], [2]))).toBe(false);
    // Read at the current positions: nothing to check.
    expect(viewStillTrue(recent, '@a:x', view(['!r:x'], ['@a:x'], [2]), positions([0], [2]))).toBe(true);
  });
});
