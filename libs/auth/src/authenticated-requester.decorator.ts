import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedRequest } from './access-token.guard.js';
import type { Requester } from './requester.js';

/** Injects the Requester that AccessTokenGuard attached. */
export const AuthenticatedRequester = createParamDecorator((_data: unknown, context: ExecutionContext): Requester => {
  const requester = context.switchToHttp().getRequest<AuthenticatedRequest>().requester;
  if (!requester) throw new Error('AuthenticatedRequester used on a route without AccessTokenGuard');
  return requester;
});

/** Injects the hex SHA-256 of the access token AccessTokenGuard accepted. */
export const AuthenticatedAccessTokenHash = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const hash = context.switchToHttp().getRequest<AuthenticatedRequest>().accessTokenHash;
  if (hash === undefined) throw new Error('AuthenticatedAccessTokenHash used on a route without AccessTokenGuard');
  return hash;
});
