import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { MatrixError, MatrixErrors } from '@mx/matrix';
import { AccessTokenService } from './access-token.service.js';
import { hashAccessToken } from './access-token.js';
import { accessTokenOfRequest, authorizationHeaderValues } from './extract-access-token.js';
import type { Requester } from './requester.js';

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  query: unknown;
  /** Node's request, whose raw header list shows repeated headers. */
  raw?: { rawHeaders?: readonly string[] };
  requester?: Requester;
  /** The hex SHA-256 of the access token the request was authenticated with. */
  accessTokenHash?: string;
}

/** Every `Authorization` header of the request (the raw list when there is one). */
function authorizationHeaders(request: AuthenticatedRequest): string[] {
  if (request.raw?.rawHeaders) return authorizationHeaderValues(request.raw.rawHeaders);
  const header = request.headers['authorization'];
  return header === undefined ? [] : Array.isArray(header) ? header : [header];
}

/** Requires a valid access token and attaches the Requester (and the token's hash) to the request. */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(private readonly tokens: AccessTokenService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const query = (request.query ?? {}) as Record<string, unknown>;
    const source = accessTokenOfRequest(authorizationHeaders(request), query);
    if (source.kind === 'ambiguous') throw new MatrixError(401, 'M_MISSING_TOKEN', source.reason);
    if (source.kind === 'missing') throw MatrixErrors.missingToken();
    if (source.kind === 'malformed') throw MatrixErrors.unknownToken('Malformed access token');
    const hash = hashAccessToken(source.token);
    const requester = await this.tokens.resolveHash(hash);
    if (!requester) throw MatrixErrors.unknownToken();
    request.requester = requester;
    request.accessTokenHash = hash.toString('hex');
    return true;
  }
}
