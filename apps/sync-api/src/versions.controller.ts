import { Controller, Get } from '@nestjs/common';

/** `GET /_matrix/client/versions`: the spec versions served and the unstable features on. */
@Controller('_matrix/client')
export class VersionsController {
  @Get('versions')
  versions(): { versions: string[]; unstable_features: Record<string, boolean> } {
    return {
      versions: ['v1.11', 'v1.12', 'v1.13', 'v1.14', 'v1.15', 'v1.16', 'v1.17', 'v1.18', 'v1.19'],
      unstable_features: { 'org.matrix.msc4429': true },
    };
  }
}
