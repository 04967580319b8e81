import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';

/**
 * Stored sync filters, verbatim: the JSON text the client uploaded (as parsed and re-serialised,
 * which keeps every key, unknown ones included, in order). Clients such as matrix-js-sdk compare
 * the stored filter with their own on restart.
 */
@Injectable()
export class FilterStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Stores a definition; filter IDs are URL-safe and never start with `{` (that means inline JSON). */
  async create(userId: string, definition: Record<string, unknown>): Promise<string> {
    const filterId = randomBytes(9).toString('base64url');
    await this.dataSource.query('INSERT INTO filters (user_id, filter_id, definition, created_ts) VALUES ($1, $2, $3, $4)', [
      userId,
      filterId,
      JSON.stringify(definition),
      Date.now(),
    ]);
    return filterId;
  }

  async find(userId: string, filterId: string): Promise<Record<string, unknown> | undefined> {
    const rows: { definition: string }[] = await this.dataSource.query(
      'SELECT definition FROM filters WHERE user_id = $1 AND filter_id = $2',
      [userId, filterId],
    );
    const definition = rows[0]?.definition;
    return definition === undefined ? undefined : (JSON.parse(definition) as Record<string, unknown>);
  }
}
