import { Controller, Get, Inject } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { companionVersions } from './companion-sync-response.js';
import { HomeserverClient, homeserverError } from '@mx/companion';

/** `GET /_matrix/client/versions` in companion mode: the homeserver's, plus the project's MSC4429 flags. */
@ApiTags('server')
@Controller('_matrix/client')
export class CompanionVersionsController {
  constructor(
    private readonly homeserver: HomeserverClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('versions')
  @ApiOkResponse({ schema: { type: 'object', required: ['versions'] } })
  async versions(): Promise<Record<string, unknown>> {
    const answer = await this.homeserver.get('/_matrix/client/versions');
    if (answer.status !== 200) throw homeserverError(answer);
    return companionVersions(answer.body, this.config.sync.stableNames);
  }
}
