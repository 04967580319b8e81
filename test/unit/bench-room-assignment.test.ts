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
    // The first outputs for seed 42, from the Python implementation named below.
    expect(seqA.slice(0, 3)).toEqual([0.23955312534235418, 0.5859209857881069, 0.09323416277766228]);
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
    // The same on every machine and in every version, or runs are not comparable: layouts worked out
    // by a separate implementation of the documented algorithm (splitmix32-seeded sfc32, 12 outputs
    // discarded, Fisher–Yates from the end, rounds cut into rooms of S), written in Python.
    expect(assignRooms(10, 4, 2, 5)).toEqual([
      [1, 9, 4, 0],
      [3, 2, 8, 7],
      [5, 6],
      [6, 2, 5, 0],
      [4, 8, 9, 3],
      [7, 1],
    ]);
    expect(assignRooms(10, 4, 2, 6)).toEqual([
      [8, 1, 7, 9],
      [3, 4, 0, 5],
      [2, 6],
      [6, 1, 4, 9],
      [5, 3, 0, 7],
      [8, 2],
    ]);
    // A remainder of one joins the round's previous room.
    expect(assignRooms(9, 4, 1, 5)).toEqual([
      [7, 3, 0, 2],
      [1, 4, 6, 8, 5],
    ]);
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
