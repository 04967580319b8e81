import { Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { SyncPositions, VisibilityInput } from '@mx/sync';

type Query = DataSource['query'];

/** Reads who shares a joined room with a user, now and at a sync token. Every query is indexed. */
@Injectable()
export class VisibilityReader {
  /** Users sharing a joined room with `userId` now, `userId` included when in any room. */
  async visibleUsers(query: Query, userId: string): Promise<Set<string>> {
    const rows: { user_id: string }[] = await query(
      `SELECT DISTINCT other.user_id FROM memberships mine
       JOIN memberships other ON other.room_id = mine.room_id AND other.membership = 'join'
       WHERE mine.user_id = $1 AND mine.membership = 'join'`,
      [userId],
    );
    return new Set(rows.map((row) => row.user_id));
  }

  /** Everything visibilityChanges needs about the window after `since`, except visibleNow. */
  async windowInput(query: Query, userId: string, since: SyncPositions, visibleNow: ReadonlySet<string>): Promise<VisibilityInput> {
    // Member events in the window, in rooms the user has (or had) a membership in.
    const changes: { room_id: string; state_key: string; membership: string }[] = await query(
      `SELECT DISTINCT e.room_id, e.state_key, e.content->>'membership' AS membership FROM memberships mine
       JOIN room_events e ON e.room_id = mine.room_id AND e.type = 'm.room.member' AND e.log_offset >= ($2::bigint[])[e.log_partition + 1]
       WHERE mine.user_id = $1`,
      [userId, since.membership],
    );
    const changedRooms = [...new Set(changes.map((row) => row.room_id))];
    if (changedRooms.length === 0) {
      return {
        visibleNow,
        candidates: new Set(),
        sharedThroughout: new Set(),
        sharingUnchangedRoom: new Set(),
        membershipAtStart: new Map(),
        me: userId,
      };
    }
    // Where the user's own membership changed, every member of the room is a candidate.
    const ownRooms = changes.filter((row) => row.state_key === userId).map((row) => row.room_id);
    const everyone: { room_id: string; user_id: string }[] =
      ownRooms.length === 0 ? [] : await query('SELECT room_id, user_id FROM memberships WHERE room_id = ANY($1)', [ownRooms]);
    const candidates = new Set([...changes.map((change) => change.state_key), ...everyone.map((row) => row.user_id)]);
    candidates.delete(userId);
    // Every candidate's membership (and the user's own) at the window's start, in every changed
    // room: a candidate may have shared a room with the user that changed for someone else.
    const pairs = changedRooms.flatMap((roomId) => [userId, ...candidates].map((member) => ({ room_id: roomId, user_id: member })));

    const atStart: { room_id: string; user_id: string; membership: string | null }[] = await query(
      `SELECT p.room_id, p.user_id, (
         SELECT e.content->>'membership' FROM room_events e
         WHERE e.room_id = p.room_id AND e.type = 'm.room.member' AND e.state_key = p.user_id AND e.log_offset < ($2::bigint[])[e.log_partition + 1]
         ORDER BY e.log_offset DESC LIMIT 1
       ) AS membership
       FROM jsonb_to_recordset($1::jsonb) AS p(room_id text, user_id text)`,
      [JSON.stringify(pairs), since.membership],
    );
    const membershipAtStart = new Map<string, Map<string, string>>();
    for (const row of atStart) {
      const room = membershipAtStart.get(row.room_id) ?? new Map<string, string>();
      room.set(row.user_id, row.membership ?? 'leave');
      membershipAtStart.set(row.room_id, room);
    }
    const sharing: { user_id: string }[] = await query(
      `SELECT DISTINCT other.user_id FROM memberships mine
       JOIN memberships other ON other.room_id = mine.room_id AND other.membership = 'join'
       WHERE mine.user_id = $1 AND mine.membership = 'join' AND other.user_id = ANY($2) AND NOT (mine.room_id = ANY($3))`,
      [userId, [...candidates], changedRooms],
    );
    // Shared throughout the window: an unchanged shared room, or a changed one where both were
    // joined at the start and are now, and neither left, was kicked or banned meanwhile.
    const now: { room_id: string; user_id: string; membership: string }[] = await query(
      'SELECT room_id, user_id, membership FROM memberships WHERE room_id = ANY($1) AND user_id = ANY($2)',
      [changedRooms, [userId, ...candidates]],
    );
    const joinedNow = new Set(now.filter((row) => row.membership === 'join').map((row) => JSON.stringify([row.room_id, row.user_id])));
    const lapsed = new Set(
      changes
        .filter((change) => change.membership === 'leave' || change.membership === 'ban')
        .map((change) => JSON.stringify([change.room_id, change.state_key])),
    );
    const steady = (roomId: string, member: string): boolean =>
      membershipAtStart.get(roomId)?.get(member) === 'join' &&
      joinedNow.has(JSON.stringify([roomId, member])) &&
      !lapsed.has(JSON.stringify([roomId, member]));
    const sharedThroughout = new Set(sharing.map((row) => row.user_id));
    for (const candidate of candidates) {
      if (changedRooms.some((roomId) => steady(roomId, userId) && steady(roomId, candidate))) sharedThroughout.add(candidate);
    }
    return {
      visibleNow,
      candidates,
      sharedThroughout,
      sharingUnchangedRoom: new Set(sharing.map((row) => row.user_id)),
      membershipAtStart,
      me: userId,
    };
  }
}
