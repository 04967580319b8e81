import { Body, Controller, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { isValidUserId, MatrixErrors } from '@mx/matrix';
import { parseSyncFilter } from '@mx/sync';
import { FilterStore } from './filter-store.js';

/** `POST /user/{userId}/filter` and `GET /user/{userId}/filter/{filterId}` (spec filter.yaml). */
@Controller('_matrix/client/v3/user/:userId/filter')
@UseGuards(AccessTokenGuard)
export class FilterController {
  constructor(
    private readonly filters: FilterStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(200)
  async create(
    @Param('userId') userId: string,
    @Body() body: unknown,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<{ filter_id: string }> {
    this.assertOwner(userId, requester);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw MatrixErrors.badJson('A filter must be a JSON object');
    const definition = body as Record<string, unknown>;
    parseSyncFilter(definition, this.config.sync.maxProfileFields);
    return { filter_id: await this.filters.create(userId, definition) };
  }

  @Get(':filterId')
  async get(
    @Param('userId') userId: string,
    @Param('filterId') filterId: string,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Readonly<Record<string, unknown>>> {
    this.assertOwner(userId, requester);
    const definition = await this.filters.find(userId, filterId);
    if (!definition) throw MatrixErrors.notFound('Unknown filter');
    return definition;
  }

  private assertOwner(userId: string, requester: Requester): void {
    if (!isValidUserId(userId)) throw MatrixErrors.invalidParam('Invalid user ID');
    if (userId !== requester.userId) throw MatrixErrors.forbidden('Cannot use filters of other users');
  }
}
