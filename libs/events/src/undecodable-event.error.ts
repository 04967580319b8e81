import { unstorableStringProblem } from '@mx/matrix';

/** Raised when bytes read from a topic are not an event this code understands, or one the projection cannot store. */
export class UndecodableEventError extends Error {
  constructor(
    message: string,
    /** The record's event id when it could be read: the writer waiting on that id is told it was refused. */
    readonly eventId?: string,
  ) {
    super(message);
    this.name = 'UndecodableEventError';
  }
}

/** The `id` of a parsed record, when it is a storable string (to refuse the record by id). */
export function readableEventId(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const id = (raw as Record<string, unknown>)['id'];
  return typeof id === 'string' && id.length <= 255 && unstorableStringProblem(id) === null ? id : undefined;
}
