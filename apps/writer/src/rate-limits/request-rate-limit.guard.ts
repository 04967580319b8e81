import { applyDecorators, type ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerRequest } from '@nestjs/throttler';
import { MatrixErrors } from '@mx/matrix';

/** The request rate limits of the writer (named throttlers, see request-throttlers.ts). */
export const RATE_LIMIT = {
  loginPerAddress: 'login-per-address',
  loginPerAccount: 'login-per-account',
  registrationPerAddress: 'registration-per-address',
  createRoomPerAddress: 'create-room-per-address',
  createRoomPerAccount: 'create-room-per-account',
} as const;
export type RateLimitName = (typeof RATE_LIMIT)[keyof typeof RATE_LIMIT];

const RATE_LIMITS_METADATA = 'mx:rate-limits';

/** The rate limits a route declared with @RateLimited (none for other routes). */
export function rateLimitsOf(context: ExecutionContext): readonly string[] {
  const names: unknown = Reflect.getMetadata(RATE_LIMITS_METADATA, context.getHandler());
  return Array.isArray(names) ? (names as string[]) : [];
}

/**
 * Counts the requests of a route against the named rate limits only, by the tracker each limit
 * defines (client address or account); a tracker that finds nothing to count by (an empty
 * string, e.g. a login body naming no user) leaves the request to the other limits. Over a limit:
 * 429 M_LIMIT_EXCEEDED with `retry_after_ms` and `Retry-After`. Counters live in each writer
 * replica's memory.
 */
@Injectable()
export class RequestRateLimitGuard extends ThrottlerGuard {
  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const name = request.throttler.name ?? 'default';
    if (!rateLimitsOf(request.context).includes(name)) return true;
    const tracker = await request.getTracker(this.getRequestResponse(request.context).req, request.context);
    if (tracker === '') return true;
    return super.handleRequest({ ...request, getTracker: () => tracker });
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfterMs = Math.max(1, detail.isBlocked ? detail.timeToBlockExpire * 1000 : detail.timeToExpire * 1000);
    return Promise.reject(MatrixErrors.limitExceeded(retryAfterMs));
  }
}

/**
 * Subjects a route to the named rate limits. They are checked in the order request-throttlers.ts
 * defines them (a route's address limit before its account limit: a request refused by one is not
 * counted by the next). Route-level, so it runs after the controller's authentication guard.
 */
export function RateLimited(...names: RateLimitName[]): MethodDecorator {
  return applyDecorators(SetMetadata(RATE_LIMITS_METADATA, names), UseGuards(RequestRateLimitGuard));
}
