import type { Sql } from './sql.js';

/**
 * What the projector announces after each committed batch, on the PostgreSQL channel below
 * (`NOTIFY` inside the batch's transaction, so it is delivered exactly when the data is visible).
 * Sync API replicas `LISTEN` and wake the long-polls the change concerns.
 */
export const PROJECTION_CHANNEL = 'mx_projection';

/** The channel of the projection in `schema` (a replay's projection never wakes the live services). */
export function projectionChannel(schema: string): string {
  return schema === 'public' ? PROJECTION_CHANNEL : `${PROJECTION_CHANNEL}_${schema}`;
}

/** A profile field change a batch applied: the field's new value, or its removal (`isSet` false, `value` null). */
export interface AppliedProfileChange {
  readonly offset: number;
  readonly userId: string;
  readonly field: string;
  readonly isSet: boolean;
  readonly value: unknown;
}

export interface ProjectionChange {
  readonly topic: string;
  readonly partition: number;
  /** The partition's position after the batch. */
  readonly nextOffset: number;
  /** The batch's first offset: with `rejectedOffsets`, says which records of [fromOffset, nextOffset) were refused. */
  readonly fromOffset?: number;
  /** Offsets in [fromOffset, nextOffset) the projection refused; the rest were applied. */
  readonly rejectedOffsets?: readonly number[];
  /** Users the change concerns (profile changed, membership changed); absent when too many to list. */
  readonly users?: readonly string[];
  /** Rooms whose events or membership changed; absent when too many to list. */
  readonly rooms?: readonly string[];
  /**
   * Profile topic: the latest change of each (user, field) the batch applied, so a sync API
   * replica can answer from memory; absent when the batch's effect is not known exactly (companion
   * mode's observed names) or too large to announce (readers then ask the database).
   */
  readonly profileChanges?: readonly AppliedProfileChange[];
}

/** On the wire a profile change is `[offset, userId, field, value]`, or `[offset, userId, field]` for a removal. */
type WireProfileChange = [number, string, string, unknown?];

function toWire(change: AppliedProfileChange): WireProfileChange {
  return change.isSet ? [change.offset, change.userId, change.field, change.value] : [change.offset, change.userId, change.field];
}

function fromWire(value: unknown): AppliedProfileChange | undefined {
  if (!Array.isArray(value) || (value.length !== 3 && value.length !== 4)) return undefined;
  const [offset, userId, field] = value as unknown[];
  if (!Number.isSafeInteger(offset) || typeof userId !== 'string' || typeof field !== 'string') return undefined;
  const isSet = value.length === 4;
  return { offset: offset as number, userId, field, isSet, value: isSet ? (value[3] as unknown) : null };
}

function decodeProfileChanges(value: unknown): AppliedProfileChange[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const changes: AppliedProfileChange[] = [];
  for (const item of value) {
    const change = fromWire(item);
    // One malformed entry makes the whole list unusable: a partial list would read as "nothing else changed".
    if (!change) return undefined;
    changes.push(change);
  }
  return changes;
}

/** PostgreSQL limits a NOTIFY payload to 8000 bytes; stay well below. */
const MAX_PAYLOAD_BYTES = 7500;

export function encodeProjectionChange(change: ProjectionChange): string {
  const { profileChanges, ...rest } = change;
  // A list this long would rarely fit (a change with real user IDs takes more than 32 bytes): not even serialized.
  if (profileChanges !== undefined && profileChanges.length <= MAX_PAYLOAD_BYTES / 32) {
    const payload = JSON.stringify({ ...rest, profileChanges: profileChanges.map(toWire) });
    if (Buffer.byteLength(payload, 'utf8') <= MAX_PAYLOAD_BYTES) return payload;
  }
  // Without the profile changes, replicas answer the syncs this batch concerns from the database.
  const payload = JSON.stringify(rest);
  if (Buffer.byteLength(payload, 'utf8') <= MAX_PAYLOAD_BYTES) return payload;
  // Without the lists, every waiter counts as concerned: a spurious wake-up is cheap, a missed one is not.
  const minimal = { topic: change.topic, partition: change.partition, nextOffset: change.nextOffset };
  const withRejections = JSON.stringify({ ...minimal, fromOffset: change.fromOffset, rejectedOffsets: change.rejectedOffsets });
  // Without the rejections, writers look them up in the database instead.
  return Buffer.byteLength(withRejections, 'utf8') <= MAX_PAYLOAD_BYTES ? withRejections : JSON.stringify(minimal);
}

export function decodeProjectionChange(payload: string): ProjectionChange | null {
  try {
    const value = JSON.parse(payload) as Partial<ProjectionChange>;
    if (typeof value.topic !== 'string' || typeof value.partition !== 'number' || typeof value.nextOffset !== 'number') return null;
    const strings = (list: unknown) => (Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : undefined);
    const users = strings(value.users);
    const rooms = strings(value.rooms);
    const rejectedOffsets = Array.isArray(value.rejectedOffsets)
      ? value.rejectedOffsets.filter((offset): offset is number => Number.isInteger(offset))
      : undefined;
    const fromOffset = Number.isInteger(value.fromOffset) ? value.fromOffset : undefined;
    const profileChanges = decodeProfileChanges(value.profileChanges);
    return {
      topic: value.topic,
      partition: value.partition,
      nextOffset: value.nextOffset,
      ...(fromOffset !== undefined && rejectedOffsets ? { fromOffset, rejectedOffsets } : {}),
      ...(users ? { users } : {}),
      ...(rooms ? { rooms } : {}),
      ...(profileChanges ? { profileChanges } : {}),
    };
  } catch {
    return null;
  }
}

/** Announces a committed batch on the channel of the projection in `schema`, inside the batch's transaction `tx`. */
export async function announceProjectionChange(tx: Sql, schema: string, change: ProjectionChange): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [projectionChannel(schema), encodeProjectionChange(change)]);
}
