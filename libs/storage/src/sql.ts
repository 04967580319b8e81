/**
 * Anything that runs SQL: the connection pool, or one transaction of it. Every table module takes
 * one as its first argument, so the caller decides which transaction a statement belongs to.
 * (TypeORM's DataSource and EntityManager both fit; nothing outside libs/storage names them.)
 */
export interface Sql {
  query(text: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * Runs `text` and returns its rows, typed as the caller decodes them. TypeORM answers a bare
 * `UPDATE`/`DELETE … RETURNING` with `[rows, affected]` instead of the rows: that shape (rows are
 * objects, never arrays) is unwrapped here, so every statement gives its rows.
 */
export async function rows<Row>(sql: Sql, text: string, parameters: unknown[] = []): Promise<Row[]> {
  const result = await sql.query(text, parameters);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as Row[];
  }
  return result as Row[];
}
