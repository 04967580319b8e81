import type { ProfileFieldObserved } from '@mx/events';
import { canonicalJson } from '@mx/matrix';
import { profileReadEventId } from './profile-snapshot.js';

/**
 * `companion-verify`: where the projection's latest profile values differ from the homeserver's
 * (the source of truth), and the entries that repair them.
 *
 * Compared per local user, over every field either side holds: a field the homeserver has and the
 * projection lacks (`missing`), one the projection has and the homeserver lacks (`extra`), one both
 * have with different values (`different`, compared as canonical JSON). A null value counts as not
 * set on both sides.
 *
 * Repair ordering: a repair is a `profile.field.observed` stamped `ts` = the time the homeserver's
 * profile was about to be read (`readStartedAt`, taken before the request). The projector keeps it
 * only when newer than the stored value, so a write through the project that lands after that
 * moment (stamped later by the writer) is never undone by the repair. A stored value whose
 * `updated_ts` is not older than `readStartedAt` changed while verify was reading: it is reported
 * as `changed during verify` and not repaired (run verify again), since the homeserver's answer may
 * predate it.
 */
export type DifferenceKind = 'missing' | 'extra' | 'different';

export interface ProfileDifference {
  readonly userId: string;
  readonly field: string;
  readonly kind: DifferenceKind;
  /** The homeserver's value (null: not set there). */
  readonly homeserver: unknown;
  /** The projection's value (null: not set there). */
  readonly projection: unknown;
  /** The stored value changed at or after the homeserver read began: not repairable from this read. */
  readonly changedDuringRead: boolean;
}

/** One (user, field) as the projection stores it (profileFields.storedFieldsOf). */
export interface StoredProfileField {
  readonly field: string;
  readonly isSet: boolean;
  readonly value: unknown;
  readonly updatedTs: number;
}

export function profileDifferences(
  userId: string,
  homeserver: ReadonlyMap<string, unknown>,
  stored: readonly StoredProfileField[],
  readStartedAt: number,
): ProfileDifference[] {
  const projection = new Map<string, StoredProfileField>();
  for (const row of stored) projection.set(row.field, row);
  const fields = [...new Set([...homeserver.keys(), ...projection.keys()])].sort();
  const differences: ProfileDifference[] = [];
  for (const field of fields) {
    const theirs = homeserver.get(field) ?? null;
    const row = projection.get(field);
    const ours = row?.isSet ? (row.value ?? null) : null;
    if (theirs === null && ours === null) continue;
    if (theirs !== null && ours !== null && canonicalJson(theirs) === canonicalJson(ours)) continue;
    differences.push({
      userId,
      field,
      kind: ours === null ? 'missing' : theirs === null ? 'extra' : 'different',
      homeserver: theirs,
      projection: ours,
      changedDuringRead: row !== undefined && row.updatedTs >= readStartedAt,
    });
  }
  return differences;
}

/** The entries that make the projection equal to the homeserver for `differences` (those changed during the read excluded). */
export function repairEntries(differences: readonly ProfileDifference[], readStartedAt: number): ProfileFieldObserved[] {
  return differences
    .filter((difference) => !difference.changedDuringRead)
    .map((difference) => ({
      v: 1,
      id: profileReadEventId('verify', difference.userId, difference.field, difference.homeserver, readStartedAt),
      type: 'profile.field.observed',
      user_id: difference.userId,
      field: difference.field,
      value: difference.homeserver,
      ts: readStartedAt,
    }));
}

/**
 * Whether the projection shows a repair: the field holds the repaired value, or a change newer than
 * the repair took its place (the rule lets the newer one win; nothing is left to wait for).
 */
export function repairApplied(entry: ProfileFieldObserved, stored: StoredProfileField | undefined): boolean {
  if (stored !== undefined && stored.updatedTs > entry.ts) return true;
  const ours = stored?.isSet ? (stored.value ?? null) : null;
  if (entry.value === null) return ours === null;
  return ours !== null && canonicalJson(ours) === canonicalJson(entry.value);
}

/** A one-line account of differences: `3 (missing 1, extra 0, different 2; 0 changed during verify)`. */
export function summarizeDifferences(differences: readonly ProfileDifference[]): string {
  const count = (kind: DifferenceKind) => differences.filter((difference) => difference.kind === kind).length;
  const racing = differences.filter((difference) => difference.changedDuringRead).length;
  return `${differences.length} (missing ${count('missing')}, extra ${count('extra')}, different ${count('different')}; ${racing} changed during verify)`;
}
