import { canonicalJson } from '@mx/matrix';

/** Bytes one field adds to a profile's canonical JSON: `"key":<value>`. */
export function fieldEntryBytes(field: string, value: unknown): number {
  return Buffer.byteLength(JSON.stringify(field), 'utf8') + 1 + Buffer.byteLength(canonicalJson(value), 'utf8');
}

/**
 * A profile's size as canonical JSON, kept up to date field by field (key order does not change
 * the length): `{` + entries joined by `,` + `}`.
 */
export class ProfileSize {
  private readonly entries = new Map<string, number>();
  private entryBytes = 0;

  constructor(fields: Iterable<readonly [string, unknown]> = []) {
    for (const [field, value] of fields) this.set(field, value);
  }

  /** How many fields are set. */
  get fieldCount(): number {
    return this.entries.size;
  }

  /** Whether `field` is set. */
  has(field: string): boolean {
    return this.entries.has(field);
  }

  /** The set fields' names. */
  fields(): IterableIterator<string> {
    return this.entries.keys();
  }

  get bytes(): number {
    return 2 + this.entryBytes + Math.max(0, this.entries.size - 1);
  }

  /** The size the profile would have with `field` set to `value`. */
  bytesWith(field: string, value: unknown): number {
    const had = this.entries.get(field);
    const count = this.entries.size + (had === undefined ? 1 : 0);
    return 2 + this.entryBytes - (had ?? 0) + fieldEntryBytes(field, value) + Math.max(0, count - 1);
  }

  set(field: string, value: unknown): void {
    this.delete(field);
    const bytes = fieldEntryBytes(field, value);
    this.entries.set(field, bytes);
    this.entryBytes += bytes;
  }

  delete(field: string): void {
    const had = this.entries.get(field);
    if (had === undefined) return;
    this.entries.delete(field);
    this.entryBytes -= had;
  }
}
