import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Gauge, Registry } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { Database, filters } from '@mx/storage';
import { ByteBoundedLru } from '@mx/sync';

/** Stored filters kept per process at most (within MX_SYNC_FILTER_CACHE_BYTES). */
export const FILTER_CACHE_ENTRIES = 10_000;
/** Estimated cost of a cached filter beyond its two strings: the map slot, the entry and two string headers. */
const ENTRY_OVERHEAD_BYTES = 160;

/**
 * What a cached filter is said to cost: its key and text counted at two bytes a character (V8
 * keeps Latin-1 strings at one), plus the entry's overhead. An upper estimate of the memory held.
 */
export function filterCacheCost(key: string, text: string): number {
  return ENTRY_OVERHEAD_BYTES + 2 * (key.length + text.length);
}

/**
 * Stored sync filters, verbatim: the JSON text the client uploaded (as parsed and re-serialised,
 * which keeps every key, unknown ones included, in order). Clients such as matrix-js-sdk compare
 * the stored filter with their own on restart.
 *
 * Filters are immutable (uploading one creates a new ID), so the ones found are cached as their
 * JSON text (never as parsed objects, whose memory cannot be told), the least recently used going
 * first beyond FILTER_CACHE_ENTRIES entries or MX_SYNC_FILTER_CACHE_BYTES bytes; an unknown ID is
 * asked again every time (it may be stored meanwhile).
 */
@Injectable()
export class FilterStore {
  private readonly cache: ByteBoundedLru<string>;

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) config: AppConfig,
    registry: Registry,
  ) {
    const cache = new ByteBoundedLru<string>(FILTER_CACHE_ENTRIES, config.sync.filterCacheBytes);
    this.cache = cache;
    new Gauge({
      name: 'mx_sync_filter_cache_bytes',
      help: 'Estimated memory held by the stored-filter cache (bounded by MX_SYNC_FILTER_CACHE_BYTES)',
      registers: [registry],
      collect() {
        this.set(cache.bytes);
      },
    });
    new Gauge({
      name: 'mx_sync_filter_cache_entries',
      help: 'Stored filters held by the stored-filter cache',
      registers: [registry],
      collect() {
        this.set(cache.size);
      },
    });
  }

  /**
   * Stores a filter's JSON text (checked by the caller); filter IDs are URL-safe and never start
   * with `{` (that means inline JSON).
   */
  async create(userId: string, text: string): Promise<string> {
    const filterId = randomBytes(9).toString('base64url');
    await filters.store(this.db, userId, filterId, text, Date.now());
    this.remember(`${userId}\n${filterId}`, text);
    return filterId;
  }

  /** The stored JSON text of a filter, or undefined when the user has no filter with that ID. */
  async find(userId: string, filterId: string): Promise<string | undefined> {
    const key = `${userId}\n${filterId}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const text = await filters.definition(this.db, userId, filterId);
    if (text === undefined) return undefined;
    this.remember(key, text);
    return text;
  }

  private remember(key: string, text: string): void {
    this.cache.set(key, text, filterCacheCost(key, text));
  }
}
