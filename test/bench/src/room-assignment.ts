import { createPrng } from './prng.js';

/**
 * The seeded room layout: `roomsPerUser` rounds, each a shuffled partition of the users into rooms of
 * `roomSize`, so every user is in exactly `roomsPerUser` distinct rooms. A remainder smaller than two
 * joins the previous room of its round (a room of one shares nothing).
 */
export function assignRooms(users: number, roomSize: number, roomsPerUser: number, seed: number): number[][] {
  if (!Number.isInteger(users) || users < 0) throw new RangeError(`users must be a non-negative integer, got ${users}`);
  if (!Number.isInteger(roomSize) || roomSize < 2) throw new RangeError(`room size must be an integer >= 2, got ${roomSize}`);
  if (!Number.isInteger(roomsPerUser) || roomsPerUser < 0) throw new RangeError(`rooms per user must be >= 0, got ${roomsPerUser}`);
  const prng = createPrng(seed);
  const everyone = Array.from({ length: users }, (_, i) => i);
  const rooms: number[][] = [];
  if (users < 2) return rooms;
  for (let round = 0; round < roomsPerUser; round += 1) {
    const order = prng.shuffled(everyone);
    const roundRooms: number[][] = [];
    for (let start = 0; start < order.length; start += roomSize) roundRooms.push(order.slice(start, start + roomSize));
    const last = roundRooms.at(-1)!;
    if (last.length < 2 && roundRooms.length > 1) {
      roundRooms.pop();
      roundRooms.at(-1)!.push(...last);
    }
    rooms.push(...roundRooms);
  }
  return rooms;
}

/** For each user, the sorted distinct users sharing at least one room with them (never themselves). */
export function coMembers(rooms: readonly (readonly number[])[], users: number): number[][] {
  const sets = Array.from({ length: users }, () => new Set<number>());
  for (const room of rooms)
    for (const a of room)
      for (const b of room) {
        if (a !== b) sets[a]?.add(b);
      }
  return sets.map((set) => [...set].sort((x, y) => x - y));
}
