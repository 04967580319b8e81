import { Body, Controller, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { isValidUserId, MatrixErrors } from '@mx/matrix';
import { encodeFilter, parseSyncFilter } from '@mx/sync';
import { FilterStore } from './filter-store.js';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';

/** `POST /user/{userId}/filter` and `GET /user/{userId}/filter/{filterId}` (spec filter.yaml). */
@ApiTags('sync')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3/user/:userId/filter')
@UseGuards(AccessTokenGuard)
export class FilterController {
  constructor(
    private readonly filters: FilterStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiBody({
    description: 'A filter (spec filter.yaml), at most 64 KiB; MSC4429 adds `org.matrix.msc4429.profile_fields: {ids: [...]}`',
    schema: { type: 'object', example: { 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] } } },
  })
  @ApiOkResponse({ schema: { type: 'object', required: ['filter_id'], properties: { filter_id: { type: 'string' } } } })
  async create(
    @Param('userId') userId: string,
    @Body() body: unknown,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<{ filter_id: string }> {
    this.assertOwner(userId, requester);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw MatrixErrors.badJson('A filter must be a JSON object');
    const definition = body as Record<string, unknown>;
    // Size first (400 M_TOO_LARGE beyond MAX_FILTER_BYTES), then the shape.
    const text = encodeFilter(definition);
    parseSyncFilter(definition, this.config.sync.maxProfileFields);
    return { filter_id: await this.filters.create(userId, text) };
  }

  @Get(':filterId')
  @ApiOkResponse({ description: 'The filter as stored', schema: { type: 'object' } })
  async get(
    @Param('userId') userId: string,
    @Param('filterId') filterId: string,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Readonly<Record<string, unknown>>> {
    this.assertOwner(userId, requester);
    const text = await this.filters.find(userId, filterId);
    if (text === undefined) throw MatrixErrors.notFound('Unknown filter');
    return JSON.parse(text) as Record<string, unknown>;
  }

  private assertOwner(userId: string, requester: Requester): void {
    if (!isValidUserId(userId)) throw MatrixErrors.invalidParam('Invalid user ID');
    if (userId !== requester.userId) throw MatrixErrors.forbidden('Cannot use filters of other users');
  }
}
