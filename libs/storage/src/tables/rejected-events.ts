import { rows, type Sql } from '../sql.js';

/**
 * `rejected_events`: Commands the projection refused, with the Matrix error their writer answers (typed here, never parsed elsewhere).
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** Why the projection refused a command: the Matrix error its writer answers with. */
export interface Rejection {
  readonly errcode: string;
  readonly message: string;
}

/** The `reason` column holds `<errcode> <message>`; only this module writes or reads that form. */
export function encodeReason(rejection: Rejection): string {
  return `${rejection.errcode} ${rejection.message}`;
}

export function decodeReason(reason: string): Rejection {
  const space = reason.indexOf(' ');
  return space > 0 ? { errcode: reason.slice(0, space), message: reason.slice(space + 1) } : { errcode: 'M_FORBIDDEN', message: reason };
}

/** The rejections recorded for those of `eventIds` the projection refused, by event ID (accepted or unknown IDs are absent). */
export async function rejectionsOf(sql: Sql, eventIds: readonly string[]): Promise<Map<string, Rejection>> {
  const found = await rows<{ event_id: string; reason: string }>(
    sql,
    'SELECT event_id, reason FROM rejected_events WHERE event_id = ANY($1)',
    [eventIds],
  );
  return new Map(found.map((row) => [row.event_id, decodeReason(row.reason)]));
}

/** A record of a partition the projection refused: its offset, its event id and why. */
export interface RefusedEvent {
  readonly offset: number;
  readonly eventId: string;
  readonly rejection: Rejection;
}

/**
 * Records a batch's refusals in `partition` of `topic`, with one statement. An event id already
 * recorded keeps its first rejection (so does the later of two refusals of the same id in `refused`).
 */
export async function record(sql: Sql, topic: string, partition: number, refused: readonly RefusedEvent[], ts = Date.now()): Promise<void> {
  if (refused.length === 0) return;
  await sql.query(
    `INSERT INTO rejected_events (event_id, topic, log_partition, log_offset, reason, rejected_ts)
     SELECT r.event_id, $2, $3, r.log_offset, r.reason, $4
     FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, log_offset bigint, reason text)
     ON CONFLICT (event_id) DO NOTHING`,
    [
      JSON.stringify(
        refused.map(({ offset, eventId, rejection }) => ({ event_id: eventId, log_offset: offset, reason: encodeReason(rejection) })),
      ),
      topic,
      partition,
      ts,
    ],
  );
}
