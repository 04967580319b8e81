import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Optional, Param, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedRequester, type Requester } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { checkProfileKey, MatrixErrors } from '@mx/matrix';
import { checkProfileValue, clearsProfileField, ProfileFieldPolicy } from '@mx/profile';
import { HomeserverProfileReader } from '../companion/homeserver-profile-reader.js';
import { ProfileCommandService } from './profile-command.service.js';
import { ProfileReader } from './profile-reader.js';
import { ProfileWriteAuthGuard } from './profile-write-auth.guard.js';
import { ProfileWriteThrottlerGuard } from './profile-write-throttler.guard.js';
import { ValidUserIdParamGuard } from './valid-user-id-param.guard.js';

/** The bearer token of an Authorization header, if it holds one. */
function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match?.[1];
}

function checkKey(keyName: string): void {
  const problem = checkProfileKey(keyName);
  if (problem === 'too_large') throw MatrixErrors.keyTooLarge();
  if (problem === 'invalid') throw MatrixErrors.invalidParam('Invalid profile field name');
}

/**
 * The profile API (spec profile.yaml, MSC4133). Writes are checked in the reference homeserver's
 * order: user ID, access token, key, body, permission, size. Companion mode: reads are the
 * homeserver's (HomeserverProfileReader).
 */
@ApiTags('profile')
@Controller('_matrix/client/v3/profile')
@UseGuards(ValidUserIdParamGuard)
export class ProfileController {
  private readonly policy: ProfileFieldPolicy;

  constructor(
    private readonly commands: ProfileCommandService,
    private readonly reader: ProfileReader,
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() private readonly homeserverReads?: HomeserverProfileReader,
  ) {
    this.policy = new ProfileFieldPolicy(config.profile.allowedFields, config.profile.disallowedFields);
  }

  @Get(':userId')
  @ApiOkResponse({ description: 'Every field of the profile', schema: { type: 'object', additionalProperties: true } })
  async getProfile(@Param('userId') userId: string, @Headers('authorization') authorization?: string): Promise<Record<string, unknown>> {
    if (this.homeserverReads) return this.homeserverReads.read(userId, undefined, bearerToken(authorization));
    const profile = await this.reader.profile(userId);
    if (profile.size === 0 && !(await this.reader.userExists(userId))) throw MatrixErrors.notFound('Profile not found');
    return Object.fromEntries(profile);
  }

  @Get(':userId/:keyName')
  @ApiOkResponse({ description: 'The field, as `{"<keyName>": value}`', schema: { type: 'object', additionalProperties: true } })
  async getField(
    @Param('userId') userId: string,
    @Param('keyName') keyName: string,
    @Headers('authorization') authorization?: string,
  ): Promise<Record<string, unknown>> {
    if (this.homeserverReads) return this.homeserverReads.read(userId, keyName, bearerToken(authorization));
    checkKey(keyName);
    const profile = await this.reader.profile(userId);
    if (!profile.has(keyName)) throw MatrixErrors.notFound('Profile field not found');
    return { [keyName]: profile.get(keyName) };
  }

  @Put(':userId/:keyName')
  @HttpCode(200)
  @ApiBearerAuth('accessToken')
  @ApiBody({
    description: 'The new value as `{"<keyName>": value}`; `""` clears displayname and avatar_url',
    schema: { type: 'object', additionalProperties: true, example: { 'm.tz': 'Europe/Paris' } },
  })
  @ApiOkResponse({ description: 'Applied (read-your-writes)', schema: { type: 'object' } })
  @UseGuards(ProfileWriteAuthGuard, ProfileWriteThrottlerGuard)
  async setField(
    @Param('userId') userId: string,
    @Param('keyName') keyName: string,
    @Body() body: unknown,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, never>> {
    checkKey(keyName);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw MatrixErrors.badJson('Body must be a JSON object');
    // Own keys only: `constructor` or `toString` must not find Object's members.
    if (!Object.hasOwn(body, keyName)) throw MatrixErrors.missingParam(`Missing key '${keyName}'`);
    const value = (body as Record<string, unknown>)[keyName];
    const valueProblem = checkProfileValue(keyName, value);
    if (valueProblem !== null) throw MatrixErrors.invalidParam(valueProblem);
    this.checkPermission(requester, userId, keyName);
    if (clearsProfileField(keyName, value)) await this.commands.deleteField(userId, keyName);
    else await this.commands.setField(userId, keyName, value);
    return {};
  }

  @Delete(':userId/:keyName')
  @HttpCode(200)
  @ApiBearerAuth('accessToken')
  @ApiOkResponse({ description: 'Deleted (read-your-writes)', schema: { type: 'object' } })
  @UseGuards(ProfileWriteAuthGuard, ProfileWriteThrottlerGuard)
  async deleteField(
    @Param('userId') userId: string,
    @Param('keyName') keyName: string,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, never>> {
    checkKey(keyName);
    this.checkPermission(requester, userId, keyName);
    await this.commands.deleteField(userId, keyName);
    return {};
  }

  private checkPermission(requester: Requester, userId: string, keyName: string): void {
    if (requester.userId !== userId) throw MatrixErrors.forbidden("Cannot change another user's profile");
    if (!this.policy.mayChange(keyName)) throw MatrixErrors.forbidden(`The field ${keyName} may not be changed on this server`);
  }
}
