import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Sql } from './sql.js';

/**
 * The services' one handle on PostgreSQL: statements on the pool, and transactions. Apps inject
 * this (never TypeORM's DataSource) and pass it, or the transaction it hands out, to the table
 * modules in ./tables.
 */
@Injectable()
export class Database implements Sql {
  constructor(private readonly dataSource: DataSource) {}

  query(text: string, parameters?: unknown[]): Promise<unknown> {
    return this.dataSource.query(text, parameters);
  }

  /** One round trip to the database (readiness). */
  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  /** Runs `work` in one transaction (READ COMMITTED unless `isolation` says otherwise); commits when it resolves. */
  transaction<T>(work: (tx: Sql) => Promise<T>, isolation?: 'REPEATABLE READ' | 'SERIALIZABLE'): Promise<T> {
    return isolation === undefined
      ? this.dataSource.transaction((manager) => work(manager))
      : this.dataSource.transaction(isolation, (manager) => work(manager));
  }
}
