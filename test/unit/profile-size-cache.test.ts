import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type OwnProfileChange, type OwnProfileWrite, ProfileSize, ProfileSizeCache } from '@mx/profile';

const MiB = 1024 * 1024;

function enabledCache(maxBytes = MiB): ProfileSizeCache {
  const cache = new ProfileSizeCache(maxBytes);
  cache.enable();
  return cache;
}

function fill(cache: ProfileSizeCache, userId: string, fields: Record<string, unknown>): void {
  cache.beginFill(userId).store(Object.entries(fields));
}

describe('ProfileSizeCache', () => {
  it('answers from memory after the first read, and follows its own accepted writes', () => {
    const cache = enabledCache();
    expect(cache.lookup('@a:hs')).toBeUndefined();
    fill(cache, '@a:hs', { 'm.tz': 'Europe/Paris' });
    expect(cache.lookup('@a:hs')?.bytes).toBe(new ProfileSize([['m.tz', 'Europe/Paris']]).bytes);

    const write = cache.beginWrite('@a:hs');
    write.appended([{ partition: 0, offset: 7 }]);
    // The projector's batch holds only this write: the entry is kept.
    cache.projected({ partition: 0, fromOffset: 7, nextOffset: 8, users: ['@a:hs'] });
    write.accepted({ kind: 'set', field: 'm.status', value: { text: 'hi' } });
    const expected = new ProfileSize([
      ['m.tz', 'Europe/Paris'],
      ['m.status', { text: 'hi' }],
    ]);
    expect(cache.lookup('@a:hs')?.bytes).toBe(expected.bytes);
    expect(cache.lookup('@a:hs')?.has('m.status')).toBe(true);
  });

  it('keeps the entry when its own write is accepted before the announcement is heard', () => {
    const cache = enabledCache();
    fill(cache, '@a:hs', {});
    const write = cache.beginWrite('@a:hs');
    write.appended([{ partition: 1, offset: 0 }]);
    write.accepted({ kind: 'set', field: 'f', value: 1 });
    cache.projected({ partition: 1, fromOffset: 0, nextOffset: 1, users: ['@a:hs'] });
    expect(cache.lookup('@a:hs')?.has('f')).toBe(true);
  });

  it("forgets a user changed by someone else's record, or by a batch that mixes records", () => {
    const cache = enabledCache();
    fill(cache, '@a:hs', {});
    fill(cache, '@b:hs', {});
    fill(cache, '@c:hs', {});
    cache.projected({ partition: 0, fromOffset: 0, nextOffset: 1, users: ['@a:hs'] });
    expect(cache.lookup('@a:hs')).toBeUndefined();

    const write = cache.beginWrite('@b:hs');
    write.appended([{ partition: 0, offset: 1 }]);
    // Offset 2 is another writer's: it may have changed @b:hs too.
    cache.projected({ partition: 0, fromOffset: 1, nextOffset: 3, users: ['@b:hs', '@c:hs'] });
    write.accepted({ kind: 'set', field: 'f', value: 1 });
    expect(cache.lookup('@b:hs')).toBeUndefined();
    expect(cache.lookup('@c:hs')).toBeUndefined();
  });

  it('clears everything when a batch does not list its users, and on clear()', () => {
    const cache = enabledCache();
    fill(cache, '@a:hs', {});
    cache.projected({ partition: 0, nextOffset: 5 });
    expect(cache.size).toBe(0);
    fill(cache, '@a:hs', {});
    cache.clear();
    expect(cache.lookup('@a:hs')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it('keeps its entries through a batch of its own records only, listed or not', () => {
    const cache = enabledCache();
    fill(cache, '@a:hs', {});
    fill(cache, '@b:hs', {});
    const write = cache.beginWrite('@a:hs');
    write.appended([{ partition: 0, offset: 3 }]);
    cache.projected({ partition: 0, fromOffset: 3, nextOffset: 4 });
    write.accepted({ kind: 'set', field: 'f', value: 1 });
    expect(cache.lookup('@a:hs')?.has('f')).toBe(true);
    expect(cache.lookup('@b:hs')).toBeDefined();
  });

  it('decides on an announcement that overtook an acknowledgement once the acknowledgement arrives', () => {
    const cache = enabledCache();
    fill(cache, '@a:hs', {});
    const own = cache.beginWrite('@a:hs');
    cache.projected({ partition: 0, fromOffset: 0, nextOffset: 1, users: ['@a:hs'] });
    own.appended([{ partition: 0, offset: 0 }]);
    own.accepted({ kind: 'set', field: 'f', value: 1 });
    expect(cache.lookup('@a:hs')?.has('f')).toBe(true);

    // Offset 1 turns out not to be the write's own (it is at 5): someone else changed @a:hs.
    const late = cache.beginWrite('@a:hs');
    cache.projected({ partition: 0, fromOffset: 1, nextOffset: 2, users: ['@a:hs'] });
    expect(cache.lookup('@a:hs')).toBeDefined();
    late.appended([{ partition: 0, offset: 5 }]);
    expect(cache.lookup('@a:hs')).toBeUndefined();

    // More unknown records than unacknowledged writes: decided at once.
    fill(cache, '@b:hs', {});
    cache.beginWrite('@b:hs');
    cache.projected({ partition: 0, fromOffset: 2, nextOffset: 4, users: ['@b:hs'] });
    expect(cache.lookup('@b:hs')).toBeUndefined();
  });

  it('does not store a read that a change overtook', () => {
    const cache = enabledCache();
    const read = cache.beginFill('@a:hs');
    cache.projected({ partition: 0, fromOffset: 0, nextOffset: 1, users: ['@a:hs'] });
    read.store([['f', 1]]);
    expect(cache.lookup('@a:hs')).toBeUndefined();

    const beforeClear = cache.beginFill('@a:hs');
    cache.clear();
    beforeClear.store([]);
    expect(cache.lookup('@a:hs')).toBeUndefined();

    const beforeOwnWrite = cache.beginFill('@a:hs');
    const write = cache.beginWrite('@a:hs');
    write.accepted({ kind: 'delete', field: 'f' });
    beforeOwnWrite.store([['f', 1]]);
    expect(cache.lookup('@a:hs')).toBeUndefined();

    // A read begun (a recheck) while the entry existed, stored after an own write updated the entry.
    fill(cache, '@a:hs', {});
    const recheck = cache.beginFill('@a:hs');
    const own = cache.beginWrite('@a:hs');
    own.appended([{ partition: 0, offset: 1 }]);
    cache.projected({ partition: 0, fromOffset: 1, nextOffset: 2, users: ['@a:hs'] });
    own.accepted({ kind: 'set', field: 'f', value: 1 });
    recheck.store([]);
    expect(cache.lookup('@a:hs')?.has('f')).toBe(true);
  });

  it('forgets the user when two of its own writes overlap, or a write fails', () => {
    const cache = enabledCache();
    fill(cache, '@a:hs', {});
    const first = cache.beginWrite('@a:hs');
    const second = cache.beginWrite('@a:hs');
    second.accepted({ kind: 'set', field: 'f', value: 2 });
    first.accepted({ kind: 'set', field: 'f', value: 1 });
    expect(cache.lookup('@a:hs')).toBeUndefined();

    fill(cache, '@a:hs', {});
    cache.beginWrite('@a:hs').failed();
    expect(cache.lookup('@a:hs')).toBeUndefined();
  });

  it('caches nothing until enabled', () => {
    const cache = new ProfileSizeCache(MiB);
    fill(cache, '@a:hs', {});
    expect(cache.lookup('@a:hs')).toBeUndefined();
  });

  it('stays within its byte budget, least recently used out first', () => {
    const cache = enabledCache(4096);
    for (let i = 0; i < 100; i += 1) {
      fill(cache, `@u${i}:hs`, { 'm.tz': 'UTC' });
      cache.lookup('@u0:hs');
      expect(cache.bytes).toBeLessThanOrEqual(4096);
    }
    expect(cache.lookup('@u0:hs')).toBeDefined();
    expect(cache.lookup('@u1:hs')).toBeUndefined();
    expect(cache.lookup('@u99:hs')).toBeDefined();
    // A profile larger than the whole budget is never kept.
    fill(cache, '@big:hs', Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`com.example.field${i}`, i])));
    expect(cache.lookup('@big:hs')).toBeUndefined();
    expect(cache.bytes).toBeLessThanOrEqual(4096);
  });
});

/**
 * Model: one partition, the cached writer A and another writer B appending changes of a few users;
 * a projector applying the log in batches and announcing each; announcements reaching A's cache
 * late (or lost: a resync); A's acknowledgements arriving late (even after the announcement); A's
 * reads of the projection stored late; A's writes failing (outcome unknown) or completing once
 * projected. Whenever A has heard every announcement and every acknowledgement, and completed every
 * write the projection applied, each cached profile equals the projection's.
 */
describe('ProfileSizeCache against a model of the log and the projection', () => {
  type Change = OwnProfileChange & { readonly user: string };
  interface Record_ {
    readonly offset: number;
    readonly change: Change;
  }
  interface AWrite {
    readonly record: Record_;
    readonly handle: OwnProfileWrite;
    acked: boolean;
    done: boolean;
  }

  const users = ['@a:hs', '@b:hs'];
  const fields = ['f', 'g'];
  const step = fc.tuple(fc.nat(9), fc.nat(1000), fc.nat(1000), fc.jsonValue({ maxDepth: 1 }));

  it('never keeps a profile that differs from the projection once it has heard everything', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 200, size: 'max' }), (steps) => {
        const cache = new ProfileSizeCache(64 * 1024);
        cache.enable();
        const log: Record_[] = [];
        const projection = new Map<string, Map<string, unknown>>();
        let projected = 0;
        const announcements: { fromOffset: number; nextOffset: number; users?: string[] }[] = [];
        const writesOfA: AWrite[] = [];
        const reads: { user: string; store: () => void }[] = [];
        const append = (change: Change): Record_ => {
          const record = { offset: log.length, change };
          log.push(record);
          return record;
        };
        const randomChange = (n: number, m: number, value: unknown): Change => {
          const user = users[n % users.length]!;
          const field = fields[m % fields.length]!;
          return m % 3 === 0 ? { kind: 'delete', user, field } : { kind: 'set', user, field, value };
        };

        for (const [action, n, m, value] of steps) {
          switch (action) {
            case 0: {
              // A starts reading a user's profile; what it read is stored now or later.
              const user = users[n % users.length]!;
              const fill = cache.beginFill(user);
              const snapshot = [...(projection.get(user) ?? new Map<string, unknown>())];
              const read = { user, store: () => void fill.store(snapshot) };
              if (m % 2 === 0) read.store();
              else reads.push(read);
              break;
            }
            case 1:
              reads.splice(n % Math.max(1, reads.length), 1)[0]?.store();
              break;
            case 2: {
              const change = randomChange(n, m, value);
              const handle = cache.beginWrite(change.user);
              writesOfA.push({ record: append(change), handle, acked: false, done: false });
              break;
            }
            case 3:
              append(randomChange(n, m, value)); // writer B
              break;
            case 4: {
              // A's acknowledgement arrives (any time before the write completes).
              const write = writesOfA.filter((w) => !w.acked && !w.done)[n % Math.max(1, writesOfA.length)];
              if (write) {
                write.acked = true;
                write.handle.appended([{ partition: 0, offset: write.record.offset }]);
              }
              break;
            }
            case 5: {
              // The projector applies a batch and announces it.
              const next = Math.min(log.length, projected + 1 + (n % 4));
              if (next === projected) break;
              const changed = new Set<string>();
              for (const { change } of log.slice(projected, next)) {
                const profile = projection.get(change.user) ?? new Map<string, unknown>();
                if (change.kind === 'set') profile.set(change.field, change.value);
                else profile.delete(change.field);
                projection.set(change.user, profile);
                changed.add(change.user);
              }
              // Too many to list: the announcement says nothing of its users.
              announcements.push({ fromOffset: projected, nextOffset: next, ...(m % 5 === 0 ? {} : { users: [...changed] }) });
              projected = next;
              break;
            }
            case 6: {
              const announcement = announcements.shift();
              if (announcement) cache.projected({ partition: 0, ...announcement });
              break;
            }
            case 7: {
              // A write of A completes once projected (its ack came first), or fails (outcome unknown) any time.
              const open = writesOfA.filter((w) => !w.done);
              const write = open[n % Math.max(1, open.length)];
              if (!write) break;
              if (m % 4 === 0) {
                write.done = true;
                write.handle.failed();
              } else if (write.record.offset < projected) {
                write.done = true;
                if (!write.acked) write.handle.appended([{ partition: 0, offset: write.record.offset }]);
                write.handle.accepted(write.record.change);
              }
              break;
            }
            case 8:
              // The listener reconnected: what was not heard is lost.
              announcements.length = 0;
              cache.clear();
              break;
            default:
              cache.lookup(users[n % users.length]!);
          }

          const quiescent = announcements.length === 0 && writesOfA.every((w) => w.done || (w.acked && w.record.offset >= projected));
          if (!quiescent) continue;
          for (const user of users) {
            const cached = cache.lookup(user);
            if (!cached) continue;
            const truth = new ProfileSize(projection.get(user) ?? []);
            expect(cached.bytes).toBe(truth.bytes);
            for (const field of fields) expect(cached.has(field)).toBe(truth.has(field));
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
