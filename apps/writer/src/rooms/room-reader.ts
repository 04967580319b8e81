import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MatrixErrors } from '@mx/matrix';
import { isRoomAlias, isRoomId, MEMBER, type RoomState } from '@mx/rooms';
import { loadRoomStates } from '@mx/storage';

/** Reads rooms and memberships from the projection. */
@Injectable()
export class RoomReader {
  constructor(private readonly dataSource: DataSource) {}

  private get query() {
    return this.dataSource.query.bind(this.dataSource);
  }

  async state(roomId: string, users: readonly string[]): Promise<RoomState | undefined> {
    return (await loadRoomStates(this.query, [roomId], users)).get(roomId);
  }

  /** A room ID, or an alias resolved to one; 404 M_NOT_FOUND for an unknown alias, 400 for neither. */
  async resolve(roomIdOrAlias: string): Promise<string> {
    if (isRoomId(roomIdOrAlias)) return roomIdOrAlias;
    if (!isRoomAlias(roomIdOrAlias)) throw MatrixErrors.invalidParam('Not a room ID or alias');
    const rows: { room_id: string }[] = await this.query('SELECT room_id FROM room_aliases WHERE alias = $1', [roomIdOrAlias]);
    const roomId = rows[0]?.room_id;
    if (!roomId) throw MatrixErrors.notFound('Room alias not found');
    return roomId;
  }

  async joinedRooms(userId: string): Promise<string[]> {
    const rows: { room_id: string }[] = await this.query(
      `SELECT room_id FROM memberships WHERE user_id = $1 AND membership = 'join' ORDER BY room_id`,
      [userId],
    );
    return rows.map((row) => row.room_id);
  }

  async membership(roomId: string, userId: string): Promise<string | undefined> {
    const rows: { membership: string }[] = await this.query('SELECT membership FROM memberships WHERE room_id = $1 AND user_id = $2', [
      roomId,
      userId,
    ]);
    return rows[0]?.membership;
  }

  async joinedMembers(roomId: string): Promise<{ userId: string; content: Record<string, unknown> }[]> {
    const rows: { user_id: string; content: Record<string, unknown> }[] = await this.query(
      `SELECT m.user_id, e.content FROM memberships m JOIN room_events e ON e.event_id = m.event_id
       WHERE m.room_id = $1 AND m.membership = 'join' ORDER BY m.user_id`,
      [roomId],
    );
    return rows.map((row) => ({ userId: row.user_id, content: row.content }));
  }

  async stateContent(roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | undefined> {
    const rows: { content: Record<string, unknown> }[] = await this.query(
      `SELECT e.content FROM room_state s JOIN room_events e ON e.event_id = s.event_id WHERE s.room_id = $1 AND s.type = $2 AND s.state_key = $3`,
      [roomId, type, stateKey],
    );
    return rows[0]?.content;
  }

  memberContent(roomId: string, userId: string): Promise<Record<string, unknown> | undefined> {
    return this.stateContent(roomId, MEMBER, userId);
  }
}
