import { describe, expect, it } from 'vitest';
import { isRetryableFailure } from '@mx/http';

/** How TypeORM wraps a PostgreSQL error: the driver's error, with its SQLSTATE, under `driverError`. */
const queryFailed = (code: string, message: string) => Object.assign(new Error(message), { driverError: { code, message } });

describe('retryable failures (answered 503, not 500)', () => {
  it('include a database that cannot be reached and a transaction aborted to resolve a conflict', () => {
    expect(isRetryableFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryableFailure(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isRetryableFailure(queryFailed('40P01', 'deadlock detected'))).toBe(true);
    expect(isRetryableFailure(queryFailed('40001', 'could not serialize access due to concurrent update'))).toBe(true);
  });

  it('exclude errors that retrying cannot mend', () => {
    expect(isRetryableFailure(queryFailed('23505', 'duplicate key value violates unique constraint'))).toBe(false);
    expect(isRetryableFailure(queryFailed('42P01', 'relation "profile_fields" does not exist'))).toBe(false);
    expect(isRetryableFailure(new TypeError('x is undefined'))).toBe(false);
    expect(isRetryableFailure(null)).toBe(false);
  });
});
