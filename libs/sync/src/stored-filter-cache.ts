import { ByteBoundedLru } from './byte-bounded-lru.js';
import { assertFilterTextSize, parseSyncFilter, type SyncFilter } from './sync-filter.js';

/** Parsed filters kept at most. */
const PARSED_FILTERS_KEPT = 1024;
/** Bytes the parsed filters may be said to cost in all. */
const PARSED_FILTERS_BYTES = 4 * 1024 * 1024;
/** Estimated cost of a parsed filter beyond its text: the entry, the filter object and its (empty) sets. */
const ENTRY_OVERHEAD_BYTES = 512;

/**
 * Stored filters as parsed, keyed by their JSON text, so that a /sync naming a stored filter does
 * not parse it again: every long-poll of a client names the same filter, and clients upload
 * identical ones, so a thousand parked long-polls share one parsed filter. Bounded by entries and
 * by an upper estimate of the memory held (a parsed filter holds its room IDs and field names: at
 * most a few times its text). A text that does not parse is not kept (the error is thrown again).
 */
export class StoredFilterCache {
  private readonly parsed = new ByteBoundedLru<SyncFilter>(PARSED_FILTERS_KEPT, PARSED_FILTERS_BYTES);

  constructor(private readonly maxProfileFields: number) {}

  /** The filter a stored JSON text describes (400 as parseSyncFilter, or 413 for a text beyond the size cap). */
  parse(text: string): SyncFilter {
    const cached = this.parsed.get(text);
    if (cached) return cached;
    // A filter stored before the size cap existed may be larger.
    assertFilterTextSize(text);
    const filter = parseSyncFilter(JSON.parse(text) as Record<string, unknown>, this.maxProfileFields);
    this.parsed.set(text, filter, ENTRY_OVERHEAD_BYTES + 4 * text.length);
    return filter;
  }
}
