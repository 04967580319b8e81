import { DataSource } from 'typeorm';
import type { AppConfig } from '@mx/config';
import { Database } from './database.js';
import { dataSourceOptions } from './data-source-options.js';

/** A Database opened outside Nest, with the pool's end. */
export interface OpenDatabase {
  readonly db: Database;
  close(): Promise<void>;
}

/**
 * Opens a connection pool of its own on `database` (its `schema` is where unqualified table names
 * resolve): for commands that work on a projection other than their own, like the replay reading
 * the live one. Close it when done.
 */
export async function openDatabase(database: AppConfig['database']): Promise<OpenDatabase> {
  const dataSource = new DataSource(dataSourceOptions(database));
  await dataSource.initialize();
  return { db: new Database(dataSource), close: () => dataSource.destroy() };
}
