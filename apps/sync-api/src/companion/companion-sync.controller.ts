import { Controller, Get, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { type CompanionAuthenticatedRequest, CompanionTokenGuard } from '@mx/auth';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CompanionSyncService } from './companion-sync.service.js';
import { clientGoneSignal } from '../sync/client-gone-signal.js';

/** `GET /sync` in companion mode: the homeserver's, with the project's MSC4429 users section. */
@ApiTags('sync')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3')
@UseGuards(CompanionTokenGuard)
export class CompanionSyncController {
  constructor(private readonly syncs: CompanionSyncService) {}

  @Get('sync')
  @ApiOkResponse({
    description: "The homeserver's /sync response with this project's MSC4429 users section and a combined next_batch",
    schema: { type: 'object', required: ['next_batch'], properties: { next_batch: { type: 'string' } } },
  })
  sync(
    @Query() query: Record<string, unknown>,
    @Req() request: CompanionAuthenticatedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Record<string, unknown>> {
    return this.syncs.sync(request.requester!, request.companionAccessToken!, request.accessTokenHash!, query, clientGoneSignal(reply.raw));
  }
}
