import { Controller, Get, Inject, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AccessTokenGuard, AuthenticatedAccessTokenHash, AuthenticatedRequester, type Requester } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { parseSyncRequest } from './sync-request.js';
import { SyncService, type SyncResponse } from './sync.service.js';
import { ApiBearerAuth, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { clientGoneSignal } from './client-gone-signal.js';

@ApiTags('sync')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class SyncController {
  constructor(
    private readonly syncs: SyncService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('sync')
  @ApiQuery({ name: 'filter', required: false, type: String, description: 'A filter ID, or an inline filter as JSON' })
  @ApiQuery({ name: 'since', required: false, type: String, description: 'The next_batch of an earlier response' })
  @ApiQuery({ name: 'timeout', required: false, type: Number, description: 'Milliseconds to wait for changes (long-poll)' })
  @ApiQuery({ name: 'full_state', required: false, type: Boolean })
  @ApiQuery({ name: 'set_presence', required: false, enum: ['offline', 'online', 'unavailable'] })
  @ApiOkResponse({
    description: 'Changes since `since` (or everything), with the MSC4429 users section when the filter asks for profile fields',
    schema: { type: 'object', required: ['next_batch'], properties: { next_batch: { type: 'string' } } },
  })
  sync(
    @Query() query: Record<string, unknown>,
    @AuthenticatedRequester() requester: Requester,
    @AuthenticatedAccessTokenHash() tokenHash: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SyncResponse> {
    const parsed = parseSyncRequest(query, this.config.sync.maxTimeoutMs);
    return this.syncs.sync({ userId: requester.userId, deviceId: requester.deviceId, tokenHash }, parsed, clientGoneSignal(reply.raw));
  }
}
