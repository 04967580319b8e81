import { rows, type Sql } from '../sql.js';

/**
 * `companion_bootstrap_progress`: the checkpoint of the companion bootstrap (`ops
 * companion-bootstrap`): the rooms and local users whose snapshot events the broker acknowledged.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

export type BootstrapItemKind = 'room' | 'user';

/** The IDs of the items of `kind` already done. */
export async function completedItems(sql: Sql, kind: BootstrapItemKind): Promise<Set<string>> {
  const found = await rows<{ item_id: string }>(sql, 'SELECT item_id FROM companion_bootstrap_progress WHERE item_kind = $1', [kind]);
  return new Set(found.map((row) => row.item_id));
}

/** Records an item as done (after the broker acknowledged its events); doing it again keeps the first record. */
export async function markCompleted(sql: Sql, kind: BootstrapItemKind, itemId: string, eventsAppended: number): Promise<void> {
  await sql.query(
    `INSERT INTO companion_bootstrap_progress (item_kind, item_id, events_appended) VALUES ($1, $2, $3)
     ON CONFLICT (item_kind, item_id) DO NOTHING`,
    [kind, itemId, eventsAppended],
  );
}

/** Forgets every item (a bootstrap from the start); returns how many were forgotten. */
export async function clear(sql: Sql): Promise<number> {
  const found = await rows<{ item_id: string }>(sql, 'DELETE FROM companion_bootstrap_progress RETURNING item_id');
  return found.length;
}
