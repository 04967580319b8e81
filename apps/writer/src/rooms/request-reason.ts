import { MatrixErrors } from '@mx/matrix';

/** The optional `reason` of a join or leave body (the body itself is optional). */
export function requestReason(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw MatrixErrors.badJson('Body must be a JSON object');
  const reason = (body as Record<string, unknown>)['reason'];
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string') throw MatrixErrors.badJson('reason must be a string');
  return reason;
}
