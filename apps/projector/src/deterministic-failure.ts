/**
 * SQLSTATE classes that mean "this data can never be stored", whatever the retries: 22 data
 * exception (a value out of range, an invalid text representation, NUL in text or jsonb), 23
 * integrity constraint violation, 54 program limit exceeded (a value too large or too deep).
 */
const DATA_ERROR_CLASSES = new Set(['22', '23', '54']);

/**
 * True when applying the same records again would fail the same way: the database refused the
 * data, or our own code threw a TypeError/RangeError on it. Lost connections, timeouts, deadlocks
 * and a database shutting down are transient: the batch is retried as it is.
 */
export function isDeterministicFailure(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return true;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && DATA_ERROR_CLASSES.has(code.slice(0, 2));
}

/** A short description of a failure for dead_letters: SQLSTATE and message, never the whole query. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} ${error.message}` : `${error.name}: ${error.message}`;
}
