import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { Database } from './database.js';
import { DatabaseQueryMetrics } from './database-query-metrics.js';
import { dataSourceOptions } from './data-source-options.js';

/**
 * The PostgreSQL connection pool (TypeORM DataSource, configured from APP_CONFIG), its query
 * counter, and the `Database` every other module injects: global, so libraries' providers (the
 * auth guard, the readiness probe) get the service's one pool without importing this module.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config.database), retryAttempts: 3, retryDelay: 1000 }),
    }),
  ],
  providers: [DatabaseQueryMetrics, Database],
  exports: [TypeOrmModule, Database],
})
export class StorageModule {}
