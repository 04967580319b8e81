import { findUnstorableJson } from '@mx/matrix';
import { readableEventId, UndecodableEventError } from './undecodable-event.error.js';

/**
 * The first step of every decoder: the record's bytes as a JSON object the projection can store,
 * then `decode` over it. Any refusal carries the record's event id when it has a readable one, so
 * the projector can refuse it by id to the writer waiting on it.
 */
export function decodeRecord<T>(bytes: Buffer | null, what: string, decode: (raw: Readonly<Record<string, unknown>>) => T): T {
  if (bytes === null) throw new UndecodableEventError(`${what} has no value`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UndecodableEventError(`${what} is not JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UndecodableEventError(`${what} is not a JSON object`);
  const eventId = readableEventId(raw);
  const problem = findUnstorableJson(raw);
  if (problem !== null) throw new UndecodableEventError(`${what} holds a value the projection cannot store: ${problem}`, eventId);
  try {
    return decode(raw as Record<string, unknown>);
  } catch (error) {
    if (error instanceof UndecodableEventError && error.eventId === undefined) throw new UndecodableEventError(error.message, eventId);
    throw error;
  }
}
