/**
 * PostgreSQL and socket error codes that mean "try again": the database is unreachable right now,
 * or it aborted the transaction to resolve a conflict with another one (a serialization failure,
 * a deadlock, e.g. against a migration's lock); never "bad request".
 */
const RETRYABLE_CODES = new Set([
  '40001',
  '40P01',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** Whether an error (or its cause) says the request may succeed when retried: answered with 503, not 500. */
export function isRetryableFailure(error: unknown, depth = 0): boolean {
  if (depth > 4 || error === null || typeof error !== 'object') return false;
  const { code, message, cause, driverError } = error as { code?: unknown; message?: unknown; cause?: unknown; driverError?: unknown };
  if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
  if (
    typeof message === 'string' &&
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/i.test(
      message,
    )
  ) {
    return true;
  }
  return isRetryableFailure(driverError, depth + 1) || isRetryableFailure(cause, depth + 1);
}
