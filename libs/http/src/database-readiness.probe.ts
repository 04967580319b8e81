import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ReadinessProbe } from './readiness-probe.js';

@Injectable()
export class DatabaseReadinessProbe implements ReadinessProbe {
  readonly name = 'database';

  constructor(private readonly dataSource: DataSource) {}

  async check(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }
}
