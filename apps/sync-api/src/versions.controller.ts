import { Controller, Get, Inject } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

/** `GET /_matrix/client/versions`: the spec versions served and the unstable features on. */
@ApiTags('server')
@Controller('_matrix/client')
export class VersionsController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get('versions')
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['versions'],
      properties: {
        versions: { type: 'array', items: { type: 'string' } },
        unstable_features: { type: 'object', additionalProperties: { type: 'boolean' } },
      },
    },
  })
  versions(): { versions: string[]; unstable_features: Record<string, boolean> } {
    return {
      versions: ['v1.11', 'v1.12', 'v1.13', 'v1.14', 'v1.15', 'v1.16', 'v1.17', 'v1.18', 'v1.19'],
      unstable_features: {
        'org.matrix.msc4429': true,
        ...(this.config.sync.stableNames ? { 'org.matrix.msc4429.stable': true } : {}),
      },
    };
  }
}
