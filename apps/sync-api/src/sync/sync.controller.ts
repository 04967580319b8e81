import { Controller, Get, Inject, Query, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { parseSyncRequest } from './sync-request.js';
import { SyncService, type SyncResponse } from './sync.service.js';

@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class SyncController {
  constructor(
    private readonly syncs: SyncService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('sync')
  sync(
    @Query() query: Record<string, unknown>,
    @AuthenticatedRequester() requester: Requester,
    @Req() request: FastifyRequest,
  ): Promise<SyncResponse> {
    const parsed = parseSyncRequest(query, this.config.sync.maxTimeoutMs);
    return this.syncs.sync(requester, parsed, () => request.raw.destroyed);
  }
}
