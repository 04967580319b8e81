import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { MatrixErrors } from '@mx/matrix';
import { isRoomId } from '@mx/rooms';
import { RATE_LIMIT, RateLimited } from '../rate-limits/request-rate-limit.guard.js';
import { requestReason } from './request-reason.js';
import { RoomCommandService } from './room-commands.service.js';
import { CreateRoomDto, ReasonDto, TargetUserDto } from './room-dtos.js';
import { RoomStateReader } from './room-state-reader.js';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';

function roomIdParam(roomId: string): string {
  if (!isRoomId(roomId)) throw MatrixErrors.invalidParam('Invalid room ID');
  return roomId;
}

/** Room and membership commands (spec create_room.yaml, joining.yaml, leaving.yaml, inviting.yaml). */
@ApiTags('rooms')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class RoomsController {
  constructor(
    private readonly commands: RoomCommandService,
    private readonly rooms: RoomStateReader,
  ) {}

  @Post('createRoom')
  @ApiOkResponse({
    schema: { type: 'object', required: ['room_id'], properties: { room_id: { type: 'string' }, room_alias: { type: 'string' } } },
  })
  @HttpCode(200)
  @RateLimited(RATE_LIMIT.createRoomPerAddress, RATE_LIMIT.createRoomPerAccount)
  createRoom(@Body() body: CreateRoomDto, @AuthenticatedRequester() requester: Requester): Promise<{ room_id: string }> {
    return this.commands.createRoom(requester.userId, body);
  }

  @Post('join/:roomIdOrAlias')
  @ApiBody({ type: ReasonDto, required: false })
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
  @ApiBody({ type: ReasonDto, required: false })
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
  @ApiBody({ type: ReasonDto, required: false })
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
  @ApiBody({ type: ReasonDto, required: false })
  @HttpCode(200)
  async forget(@Param('roomId') roomId: string, @AuthenticatedRequester() requester: Requester): Promise<Record<string, never>> {
    await this.commands.forget(requester.userId, roomIdParam(roomId));
    return {};
  }
}
