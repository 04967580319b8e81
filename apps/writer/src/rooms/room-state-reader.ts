import { Injectable } from '@nestjs/common';
import { MatrixErrors } from '@mx/matrix';
import { isRoomAlias, isRoomId, MEMBER, type RoomState } from '@mx/rooms';
import { Database, loadRoomStates, memberships, roomAliases, roomState } from '@mx/storage';

/**
 * The writer's view of rooms in the projection: the state its room rules check a command against,
 * memberships, state events and aliases. (Not the sync API's `RoomsReader`, which builds /sync's
 * room sections.)
 */
@Injectable()
export class RoomStateReader {
  constructor(private readonly db: Database) {}

  async state(roomId: string, users: readonly string[]): Promise<RoomState | undefined> {
    return (await loadRoomStates(this.db, [roomId], users)).get(roomId);
  }

  /** A room ID, or an alias resolved to one; 404 M_NOT_FOUND for an unknown alias, 400 for neither. */
  async resolve(roomIdOrAlias: string): Promise<string> {
    if (isRoomId(roomIdOrAlias)) return roomIdOrAlias;
    if (!isRoomAlias(roomIdOrAlias)) throw MatrixErrors.invalidParam('Not a room ID or alias');
    const roomId = await roomAliases.roomIdOf(this.db, roomIdOrAlias);
    if (!roomId) throw MatrixErrors.notFound('Room alias not found');
    return roomId;
  }

  joinedRooms(userId: string): Promise<string[]> {
    return memberships.joinedRoomIds(this.db, userId);
  }

  async membership(roomId: string, userId: string): Promise<string | undefined> {
    return (await memberships.ofUsersInRooms(this.db, [roomId], [userId]))[0]?.membership;
  }

  joinedMembers(roomId: string): Promise<{ userId: string; content: Record<string, unknown> }[]> {
    return memberships.joinedWithMemberContent(this.db, roomId);
  }

  stateContent(roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | undefined> {
    return roomState.eventContent(this.db, roomId, type, stateKey);
  }

  memberContent(roomId: string, userId: string): Promise<Record<string, unknown> | undefined> {
    return this.stateContent(roomId, MEMBER, userId);
  }
}
