/**
 * What the projector announces after each committed batch, on the PostgreSQL channel below
 * (`NOTIFY` inside the batch's transaction, so it is delivered exactly when the data is visible).
 * Sync API replicas `LISTEN` and wake the long-polls the change concerns.
 */
export const PROJECTION_CHANNEL = 'mx_projection';

export interface ProjectionChange {
  readonly topic: string;
  readonly partition: number;
  /** The partition's position after the batch. */
  readonly nextOffset: number;
  /** Users whose profile changed; absent when too many to list (then every waiter is woken). */
  readonly users?: readonly string[];
}

/** PostgreSQL limits a NOTIFY payload to 8000 bytes; stay well below. */
const MAX_PAYLOAD_BYTES = 7500;

export function encodeProjectionChange(change: ProjectionChange): string {
  const payload = JSON.stringify(change);
  if (Buffer.byteLength(payload, 'utf8') <= MAX_PAYLOAD_BYTES) return payload;
  const { users: _omitted, ...withoutUsers } = change;
  return JSON.stringify(withoutUsers);
}

export function decodeProjectionChange(payload: string): ProjectionChange | null {
  try {
    const value = JSON.parse(payload) as Partial<ProjectionChange>;
    if (typeof value.topic !== 'string' || typeof value.partition !== 'number' || typeof value.nextOffset !== 'number') return null;
    const users = Array.isArray(value.users) ? value.users.filter((user): user is string => typeof user === 'string') : undefined;
    return { topic: value.topic, partition: value.partition, nextOffset: value.nextOffset, ...(users ? { users } : {}) };
  } catch {
    return null;
  }
}
