import { rows, type Sql } from '../sql.js';

/**
 * `projection_meta`: The projection's identity (its epoch), which sync tokens name.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** The projection's epoch (set by the migrations, new for every rebuilt projection); undefined before migrating. */
export async function epoch(sql: Sql): Promise<string | undefined> {
  const found = await rows<{ epoch: string }>(sql, 'SELECT epoch FROM projection_meta WHERE id = 1');
  return found[0]?.epoch;
}
