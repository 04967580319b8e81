import type { AppConfig } from '@mx/config';
import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

/** TypeORM options for our PostgreSQL database. Schema changes happen only through migrations. */
export function dataSourceOptions(database: AppConfig['database']): DataSourceOptions {
  return {
    type: 'postgres',
    host: database.host,
    port: database.port,
    database: database.name,
    username: database.user,
    password: database.password,
    schema: database.schema,
    ssl: database.sslMode === 'disable' ? false : { rejectUnauthorized: database.sslMode === 'verify-full' },
    // No entities: the migrations are the schema's one description; code reaches tables through ./tables.
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
    // Unqualified names resolve in the configured schema (a replay builds a projection in its own).
    extra: { max: database.poolSize, connectionTimeoutMillis: 5000, options: `-c search_path=${database.schema}` },
  };
}
