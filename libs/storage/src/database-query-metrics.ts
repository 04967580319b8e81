import { Injectable, type OnModuleInit } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { DataSource, type EntitySubscriberInterface } from 'typeorm';

/**
 * `mx_db_queries_total`: every statement this process sends through its connection pool
 * (transaction control included, so a one-query transaction counts 3). Shows what a request
 * path costs the database: an idle `/sync` answered from memory sends none.
 */
@Injectable()
export class DatabaseQueryMetrics implements OnModuleInit {
  private readonly queries: Counter;

  constructor(
    private readonly dataSource: DataSource,
    registry: Registry,
  ) {
    this.queries = new Counter({
      name: 'mx_db_queries_total',
      help: 'Statements sent to PostgreSQL through the pool',
      registers: [registry],
    });
  }

  onModuleInit(): void {
    const queries = this.queries;
    const subscriber: EntitySubscriberInterface = {
      beforeQuery() {
        queries.inc();
      },
    };
    this.dataSource.subscribers.push(subscriber);
  }
}
