import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';

/** Stored filters kept per process; a filter never changes once stored, so they never go stale. */
export const FILTER_CACHE_ENTRIES = 10_000;

/**
 * Stored sync filters, verbatim: the JSON text the client uploaded (as parsed and re-serialised,
 * which keeps every key, unknown ones included, in order). Clients such as matrix-js-sdk compare
 * the stored filter with their own on restart.
 *
 * Filters are immutable (uploading one creates a new ID), so the ones found are cached, the least
 * recently used going first; an unknown ID is asked again every time (it may be stored meanwhile).
 */
@Injectable()
export class FilterStore {
  private readonly cache = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(private readonly dataSource: DataSource) {}

  /** Stores a definition; filter IDs are URL-safe and never start with `{` (that means inline JSON). */
  async create(userId: string, definition: Record<string, unknown>): Promise<string> {
    const filterId = randomBytes(9).toString('base64url');
    const text = JSON.stringify(definition);
    await this.dataSource.query('INSERT INTO filters (user_id, filter_id, definition, created_ts) VALUES ($1, $2, $3, $4)', [
      userId,
      filterId,
      text,
      Date.now(),
    ]);
    // Kept as a later read would give it back (re-parsed from the stored text).
    this.remember(`${userId}\n${filterId}`, JSON.parse(text) as Record<string, unknown>);
    return filterId;
  }

  async find(userId: string, filterId: string): Promise<Readonly<Record<string, unknown>> | undefined> {
    const key = `${userId}\n${filterId}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const rows: { definition: string }[] = await this.dataSource.query(
      'SELECT definition FROM filters WHERE user_id = $1 AND filter_id = $2',
      [userId, filterId],
    );
    const text = rows[0]?.definition;
    if (text === undefined) return undefined;
    const definition = JSON.parse(text) as Record<string, unknown>;
    this.remember(key, definition);
    return definition;
  }

  private remember(key: string, definition: Readonly<Record<string, unknown>>): void {
    this.cache.set(key, definition);
    if (this.cache.size > FILTER_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
  }
}
