import { DataSource } from 'typeorm';
import type { AppConfig } from '@mx/config';
import { dataSourceOptions } from './data-source-options.js';

const MIGRATION_LOCK_KEY = 4429;

/** Applies every pending migration; returns the names applied. Safe to run again and from several pods at once. */
export async function runMigrations(database: AppConfig['database']): Promise<string[]> {
  const dataSource = new DataSource(dataSourceOptions(database));
  await dataSource.initialize();
  const lockHolder = dataSource.createQueryRunner();
  try {
    await lockHolder.connect();
    await lockHolder.query(`CREATE SCHEMA IF NOT EXISTS "${database.schema}"`);
    await lockHolder.query(`SELECT pg_advisory_lock($1)`, [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await lockHolder.query(`SELECT pg_advisory_unlock($1)`, [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockHolder.release();
    await dataSource.destroy();
  }
}
