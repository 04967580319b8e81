import { Injectable } from '@nestjs/common';
import { memberships, roomEvents, type Sql } from '@mx/storage';
import {
  roomsWhereMembershipChanged,
  roomsWithMemberEvents,
  type SyncPositions,
  visibilityCandidates,
  type VisibilityInput,
  windowVisibilityInput,
} from '@mx/sync';

/**
 * Reads who shares a joined room with a user, now and at a sync token: the facts only (the rule
 * that decides from them is libs/sync's profile-visibility). Every query is indexed.
 */
@Injectable()
export class VisibilityReader {
  /** Users sharing a joined room with `userId` now, `userId` included when in any room. */
  async visibleUsers(sql: Sql, userId: string): Promise<Set<string>> {
    return new Set(await memberships.usersSharingJoinedRoom(sql, userId));
  }

  /** Everything visibilityChanges needs about the window after `since`, except visibleNow. */
  async windowInput(sql: Sql, userId: string, since: SyncPositions, visibleNow: ReadonlySet<string>): Promise<VisibilityInput> {
    const memberEvents = await memberships.memberEventsInWindow(sql, userId, since.membership);
    const changedRooms = roomsWithMemberEvents(memberEvents);
    if (changedRooms.length === 0) {
      return windowVisibilityInput({
        me: userId,
        visibleNow,
        memberEvents,
        candidates: new Set(),
        sharingUnchangedRoom: new Set(),
        membershipAtStart: new Map(),
        membershipNow: [],
      });
    }
    const ownRooms = roomsWhereMembershipChanged(userId, memberEvents);
    const everyone = ownRooms.length === 0 ? [] : await memberships.membersOfRooms(sql, ownRooms);
    const candidates = visibilityCandidates(
      userId,
      memberEvents,
      everyone.map((row) => row.userId),
    );
    // Every candidate's membership (and the user's own) at the window's start, in every changed
    // room: a candidate may have shared a room with the user that changed for someone else.
    const pairs = changedRooms.flatMap((roomId) => [userId, ...candidates].map((member) => ({ roomId, userId: member })));
    const membershipAtStart = new Map<string, Map<string, string>>();
    for (const row of await roomEvents.membershipsBeforeWindow(sql, pairs, since.membership)) {
      const room = membershipAtStart.get(row.roomId) ?? new Map<string, string>();
      room.set(row.userId, row.membership ?? 'leave');
      membershipAtStart.set(row.roomId, room);
    }
    const sharingUnchangedRoom = new Set(await memberships.usersSharingJoinedRoomOutside(sql, userId, [...candidates], changedRooms));
    const membershipNow = await memberships.ofUsersInRooms(sql, changedRooms, [userId, ...candidates]);
    return windowVisibilityInput({
      me: userId,
      visibleNow,
      memberEvents,
      candidates,
      sharingUnchangedRoom,
      membershipAtStart,
      membershipNow,
    });
  }
}
