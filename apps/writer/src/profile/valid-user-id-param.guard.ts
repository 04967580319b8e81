import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { isValidUserId, MatrixErrors } from '@mx/matrix';

/** Rejects a malformed `{userId}` path parameter before authentication, as the reference homeserver does. */
@Injectable()
export class ValidUserIdParamGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const params = context.switchToHttp().getRequest<{ params: Record<string, string | undefined> }>().params;
    const userId = params['userId'];
    if (userId === undefined || !isValidUserId(userId)) throw MatrixErrors.invalidParam('Invalid user ID');
    return true;
  }
}
