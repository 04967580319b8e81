import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { MatrixError, MatrixErrors } from '@mx/matrix';
import { accessTokenOfRequest, authorizationHeaderValues } from './extract-access-token.js';
import type { AuthenticatedRequest } from './access-token.guard.js';
import { accessTokenKey, type RequesterResolver } from './homeserver-requester-resolver.js';

/** Injection token of the RequesterResolver companion mode uses. */
export const REQUESTER_RESOLVER = Symbol('REQUESTER_RESOLVER');

/** A request authenticated in companion mode: the homeserver's token is kept to forward it. */
export interface CompanionAuthenticatedRequest extends AuthenticatedRequest {
  companionAccessToken?: string;
}

/**
 * Companion mode's guard: reads the token as AccessTokenGuard does (same refusals for missing,
 * ambiguous or malformed tokens), then asks the RequesterResolver (the homeserver) who owns it.
 */
@Injectable()
export class CompanionTokenGuard implements CanActivate {
  constructor(@Inject(REQUESTER_RESOLVER) private readonly resolver: RequesterResolver) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<CompanionAuthenticatedRequest>();
    const query = (request.query ?? {}) as Record<string, unknown>;
    const headers = request.raw?.rawHeaders
      ? authorizationHeaderValues(request.raw.rawHeaders)
      : request.headers['authorization'] === undefined
        ? []
        : ([] as string[]).concat(request.headers['authorization']);
    const source = accessTokenOfRequest(headers, query);
    if (source.kind === 'ambiguous') throw new MatrixError(401, 'M_MISSING_TOKEN', source.reason);
    if (source.kind === 'missing') throw MatrixErrors.missingToken();
    if (source.kind === 'malformed') throw MatrixErrors.unknownToken('Malformed access token');
    request.requester = await this.resolver.resolve(source.token);
    request.accessTokenHash = accessTokenKey(source.token);
    request.companionAccessToken = source.token;
    return true;
  }
}
