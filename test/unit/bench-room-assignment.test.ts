import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPrng, subSeed } from '../bench/src/prng.js';
import { assignRooms, coMembers } from '../bench/src/room-assignment.js';

describe('bench seeded PRNG', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(subSeed(1, 'rooms')).not.toBe(subSeed(1, 'writers'));
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = createPrng(7).shuffled(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
    expect(shuffled).not.toEqual(items);
  });
});

describe('bench room assignment', () => {
  it('is deterministic from the seed', () => {
    expect(assignRooms(100, 10, 3, 5)).toEqual(assignRooms(100, 10, 3, 5));
    expect(assignRooms(100, 10, 3, 5)).not.toEqual(assignRooms(100, 10, 3, 6));
  });

  it('puts every user in exactly K distinct rooms of about S members', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(),
        (users, size, k, seed) => {
          const rooms = assignRooms(users, size, k, seed);
          const count = new Array<number>(users).fill(0);
          for (const room of rooms) {
            expect(new Set(room).size).toBe(room.length);
            expect(room.length).toBeGreaterThanOrEqual(Math.min(2, users));
            expect(room.length).toBeLessThanOrEqual(size + 1);
            for (const member of room) count[member] = count[member]! + 1;
          }
          expect(count.every((c) => c === k)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('derives co-members symmetrically, never oneself', () => {
    const rooms = [
      [0, 1, 2],
      [2, 3],
    ];
    expect(coMembers(rooms, 5)).toEqual([[1, 2], [0, 2], [0, 1, 3], [2], []]);
    const big = assignRooms(60, 6, 2, 1);
    const co = coMembers(big, 60);
    co.forEach((list, a) => {
      expect(list).not.toContain(a);
      for (const b of list) expect(co[b]).toContain(a);
    });
  });

  it('rejects nonsense sizes', () => {
    expect(() => assignRooms(10, 1, 1, 0)).toThrow(RangeError);
    expect(assignRooms(1, 5, 2, 0)).toEqual([]);
  });
});
