import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { AuthenticatedRequest } from '@mx/auth';
import { MatrixErrors } from '@mx/matrix';

/**
 * Per-user rate limit on profile writes (after authentication): 429 M_LIMIT_EXCEEDED with
 * `retry_after_ms` and `Retry-After`. Counters live in each writer replica's memory.
 */
@Injectable()
export class ProfileWriteThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const requester = (request as unknown as AuthenticatedRequest).requester;
    return Promise.resolve(requester?.userId ?? 'anonymous');
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfterMs = Math.max(1, detail.isBlocked ? detail.timeToBlockExpire * 1000 : detail.timeToExpire * 1000);
    return Promise.reject(MatrixErrors.limitExceeded(retryAfterMs));
  }
}
