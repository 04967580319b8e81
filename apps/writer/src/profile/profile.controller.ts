import { Body, Controller, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { checkProfileKey, MatrixErrors } from '@mx/matrix';
import { ProfileCommandService } from './profile-command.service.js';
import { ValidUserIdParamGuard } from './valid-user-id-param.guard.js';

/** Profile writes (spec: profile.yaml, MSC4133). Checks run in the reference homeserver's order. */
@Controller('_matrix/client/v3/profile')
@UseGuards(ValidUserIdParamGuard, AccessTokenGuard)
export class ProfileController {
  constructor(private readonly commands: ProfileCommandService) {}

  @Put(':userId/:keyName')
  @HttpCode(200)
  async setField(
    @Param('userId') userId: string,
    @Param('keyName') keyName: string,
    @Body() body: unknown,
    @AuthenticatedRequester() requester: Requester,
  ): Promise<Record<string, never>> {
    const keyProblem = checkProfileKey(keyName);
    if (keyProblem === 'too_large') throw MatrixErrors.keyTooLarge();
    if (keyProblem === 'invalid') throw MatrixErrors.invalidParam('Invalid profile field name');
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw MatrixErrors.notJson('Body must be a JSON object');
    if (!(keyName in body)) throw MatrixErrors.missingParam(`Missing key '${keyName}'`);
    if (requester.userId !== userId) throw MatrixErrors.forbidden("Cannot set another user's profile");
    await this.commands.setField(userId, keyName, (body as Record<string, unknown>)[keyName]);
    return {};
  }
}
