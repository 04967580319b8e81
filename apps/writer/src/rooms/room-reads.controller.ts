import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { MatrixErrors } from '@mx/matrix';
import { isRoomId } from '@mx/rooms';
import { RoomStateReader } from './room-state-reader.js';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';

/** Membership reads (spec list_joined_rooms.yaml, joined_members, room state). */
@ApiTags('rooms')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class RoomReadsController {
  constructor(private readonly rooms: RoomStateReader) {}

  @Get('joined_rooms')
  async joinedRooms(@AuthenticatedRequester() requester: Requester): Promise<{ joined_rooms: string[] }> {
    return { joined_rooms: await this.rooms.joinedRooms(requester.userId) };
  }

  @Get('rooms/:roomId/joined_members')
  async joinedMembers(
    @Param('roomId') roomId: string,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<{ joined: Record<string, { display_name?: string; avatar_url?: string }> }> {
    await this.assertMember(roomId, requester.userId);
    const members = await this.rooms.joinedMembers(roomId);
    const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
    for (const { userId, content } of members) {
      const displayname = content['displayname'];
      const avatarUrl = content['avatar_url'];
      joined[userId] = {
        ...(typeof displayname === 'string' ? { display_name: displayname } : {}),
        ...(typeof avatarUrl === 'string' ? { avatar_url: avatarUrl } : {}),
      };
    }
    return { joined };
  }

  @Get('rooms/:roomId/state/:eventType/:stateKey')
  stateEvent(
    @Param('roomId') roomId: string,
    @Param('eventType') eventType: string,
    @Param('stateKey') stateKey: string,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, unknown>> {
    return this.readState(roomId, eventType, stateKey, requester.userId);
  }

  @Get('rooms/:roomId/state/:eventType')
  stateEventWithEmptyKey(
    @Param('roomId') roomId: string,
    @Param('eventType') eventType: string,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, unknown>> {
    return this.readState(roomId, eventType, '', requester.userId);
  }

  private async readState(roomId: string, eventType: string, stateKey: string, userId: string): Promise<Record<string, unknown>> {
    await this.assertMember(roomId, userId);
    const content = await this.rooms.stateContent(roomId, eventType, stateKey);
    if (!content) throw MatrixErrors.notFound('Event not found');
    return content;
  }

  /** Only current members may read a room's members and state. */
  private async assertMember(roomId: string, userId: string): Promise<void> {
    if (!isRoomId(roomId)) throw MatrixErrors.invalidParam('Invalid room ID');
    if ((await this.rooms.membership(roomId, userId)) !== 'join') throw MatrixErrors.forbidden('You are not in this room');
  }
}
