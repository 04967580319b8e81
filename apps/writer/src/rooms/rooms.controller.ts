import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { MatrixErrors } from '@mx/matrix';
import { isRoomId } from '@mx/rooms';
import { requestReason } from './request-reason.js';
import { RoomCommandService } from './room-commands.service.js';
import { CreateRoomDto, TargetUserDto } from './room-dtos.js';
import { RoomReader } from './room-reader.js';

function roomIdParam(roomId: string): string {
  if (!isRoomId(roomId)) throw MatrixErrors.invalidParam('Invalid room ID');
  return roomId;
}

/** Room and membership commands (spec create_room.yaml, joining.yaml, leaving.yaml, inviting.yaml). */
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class RoomsController {
  constructor(
    private readonly commands: RoomCommandService,
    private readonly rooms: RoomReader,
  ) {}

  @Post('createRoom')
  @HttpCode(200)
  createRoom(@Body() body: CreateRoomDto, @AuthenticatedRequester() requester: Requester): Promise<{ room_id: string }> {
    return this.commands.createRoom(requester.userId, body);
  }

  @Post('join/:roomIdOrAlias')
  @HttpCode(200)
  async joinByIdOrAlias(
    @Param('roomIdOrAlias') roomIdOrAlias: string,
    @Body() body: unknown,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<{ room_id: string }> {
    const reason = requestReason(body);
    const roomId = await this.rooms.resolve(roomIdOrAlias);
    await this.commands.join(requester.userId, roomId, reason);
    return { room_id: roomId };
  }

  @Post('rooms/:roomId/join')
  @HttpCode(200)
  async join(
    @Param('roomId') roomId: string,
    @Body() body: unknown,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<{ room_id: string }> {
    await this.commands.join(requester.userId, roomIdParam(roomId), requestReason(body));
    return { room_id: roomId };
  }

  @Post('rooms/:roomId/leave')
  @HttpCode(200)
  async leave(
    @Param('roomId') roomId: string,
    @Body() body: unknown,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, never>> {
    await this.commands.leave(requester.userId, roomIdParam(roomId), requestReason(body));
    return {};
  }

  @Post('rooms/:roomId/invite')
  @HttpCode(200)
  async invite(
    @Param('roomId') roomId: string,
    @Body() body: TargetUserDto,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, never>> {
    await this.commands.invite(requester.userId, roomIdParam(roomId), body.user_id, body.reason);
    return {};
  }

  @Post('rooms/:roomId/kick')
  @HttpCode(200)
  async kick(
    @Param('roomId') roomId: string,
    @Body() body: TargetUserDto,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, never>> {
    await this.commands.kick(requester.userId, roomIdParam(roomId), body.user_id, body.reason);
    return {};
  }

  @Post('rooms/:roomId/ban')
  @HttpCode(200)
  async ban(
    @Param('roomId') roomId: string,
    @Body() body: TargetUserDto,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, never>> {
    await this.commands.ban(requester.userId, roomIdParam(roomId), body.user_id, body.reason);
    return {};
  }

  @Post('rooms/:roomId/unban')
  @HttpCode(200)
  async unban(
    @Param('roomId') roomId: string,
    @Body() body: TargetUserDto,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, never>> {
    await this.commands.unban(requester.userId, roomIdParam(roomId), body.user_id, body.reason);
    return {};
  }

  @Post('rooms/:roomId/forget')
  @HttpCode(200)
  async forget(@Param('roomId') roomId: string, @AuthenticatedRequester() requester: Requester): Promise<Record<string, never>> {
    await this.commands.forget(requester.userId, roomIdParam(roomId));
    return {};
  }
}
