import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { MatrixErrors } from '@mx/matrix';
import { AccessTokenService } from './access-token.service.js';
import { extractAccessToken } from './extract-access-token.js';
import type { Requester } from './requester.js';

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  query: unknown;
  requester?: Requester;
}

/** Requires a valid access token and attaches the Requester to the request. */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(private readonly tokens: AccessTokenService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers['authorization'];
    const query = (request.query ?? {}) as Record<string, unknown>;
    const source = extractAccessToken(Array.isArray(header) ? header[0] : header, query['access_token']);
    if (source.kind === 'missing') throw MatrixErrors.missingToken();
    if (source.kind === 'malformed') throw MatrixErrors.unknownToken('Malformed access token');
    const requester = await this.tokens.resolve(source.token);
    if (!requester) throw MatrixErrors.unknownToken();
    request.requester = requester;
    return true;
  }
}
