/**
 * Anything that runs SQL: the connection pool, or one transaction of it. Every table module takes
 * one as its first argument, so the caller decides which transaction a statement belongs to.
 * (TypeORM's DataSource and EntityManager both fit; nothing outside libs/storage names them.)
 */
export interface Sql {
  query(text: string, parameters?: unknown[]): Promise<unknown>;
}

/** Runs `text` and returns its rows, typed as the caller decodes them. */
export async function rows<Row>(sql: Sql, text: string, parameters: unknown[] = []): Promise<Row[]> {
  return (await sql.query(text, parameters)) as Row[];
}
