import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { DatabaseQueryMetrics } from './database-query-metrics.js';
import { dataSourceOptions } from './data-source-options.js';

/** The PostgreSQL connection pool (TypeORM DataSource), configured from APP_CONFIG, and its query counter. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config.database), retryAttempts: 3, retryDelay: 1000 }),
    }),
  ],
  providers: [DatabaseQueryMetrics],
  exports: [TypeOrmModule],
})
export class StorageModule {}
