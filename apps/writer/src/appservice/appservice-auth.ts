import { timingSafeEqual } from 'node:crypto';
import { MatrixError, MatrixErrors } from '@mx/matrix';

/**
 * The homeserver's credentials on the Application Service API (spec application_service
 * "Authorization"): `Authorization: Bearer <hs_token>`. Without one: 401 `M_UNAUTHORIZED`;
 * with another token: 403 `M_FORBIDDEN`. The comparison takes constant time.
 */
export function checkHomeserverToken(authorization: string | undefined, hsToken: string): void {
  const match = /^Bearer (\S+)$/i.exec(authorization?.trim() ?? '');
  if (!match) throw new MatrixError(401, 'M_UNAUTHORIZED', 'Missing the homeserver token');
  const presented = Buffer.from(match[1]!, 'utf8');
  const expected = Buffer.from(hsToken, 'utf8');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw MatrixErrors.forbidden('Bad homeserver token');
  }
}
