import { createHash } from 'node:crypto';
import type { ProfileFieldObserved } from '@mx/events';
import { canonicalJson, checkProfileKey, findUnstorableJson } from '@mx/matrix';
import { isJsonObject, UnexpectedHomeserverAnswerError } from './homeserver-answer-error.js';

/**
 * A local user's profile as the homeserver answers `GET /_matrix/client/v3/profile/{userId}`
 * (`displayname`, `avatar_url` and MSC4133 custom fields such as `m.status`, `m.tz`,
 * `com.example.*`), and the snapshot entries the companion bootstrap appends for it.
 *
 * Ordering rule (why a snapshot never overrides a later write through the project): the entries are
 * `profile.field.observed` values stamped `ts` = BOOTSTRAP_PROFILE_TS (0). The projector stores an
 * observed value only when its `ts` is newer than the stored `updated_ts` (profileFields.upsertObserved),
 * and every stored row has `updated_ts` >= 0: a write through the project (`profile.field.set` or
 * `.deleted`, stamped with the writer's clock, a deletion kept as a removed row), a member event of
 * the feed (its `origin_server_ts`), a repair by `companion-verify`. So a bootstrap profile value
 * only fills a (user, field) the projection has never heard of, whichever order the log holds them
 * in: it can never take the place of a write made through the project after (or before) the
 * snapshot was read, and needs no clock comparison across machines. Re-running it changes nothing.
 * A value the projection holds that differs from the homeserver's is `companion-verify --repair`'s
 * job (the homeserver is the source of truth), not the bootstrap's.
 */
export const BOOTSTRAP_PROFILE_TS = 0;

/** The path of a user's profile (read with the appservice's as_token, as that user: `?user_id=`, never rate-limited). */
export function profilePath(userId: string): string {
  return `/_matrix/client/v3/profile/${encodeURIComponent(userId)}?${new URLSearchParams({ user_id: userId }).toString()}`;
}

export interface HomeserverProfile {
  /** The set fields and their values (a null value is no value: the field is not set). */
  readonly fields: ReadonlyMap<string, unknown>;
  /** Keys that cannot be stored (not a profile key, unstorable JSON), with why: reported, never appended. */
  readonly skipped: readonly { readonly field: string; readonly reason: string }[];
}

/** Reads a `GET /profile` answer (404 `M_NOT_FOUND` is the caller's: an empty profile). */
export function parseHomeserverProfile(userId: string, body: unknown): HomeserverProfile {
  if (!isJsonObject(body)) throw new UnexpectedHomeserverAnswerError(`GET /_matrix/client/v3/profile/${userId}`, 'not a JSON object');
  const fields = new Map<string, unknown>();
  const skipped: { field: string; reason: string }[] = [];
  for (const field of Object.keys(body).sort()) {
    const value = body[field];
    if (value === null || value === undefined) continue;
    const keyProblem = checkProfileKey(field);
    if (keyProblem !== null) {
      skipped.push({ field, reason: `not a profile key (${keyProblem})` });
      continue;
    }
    const problem = findUnstorableJson(value);
    if (problem !== null) {
      skipped.push({ field, reason: `holds what cannot be stored: ${problem}` });
      continue;
    }
    fields.set(field, value);
  }
  return { fields, skipped };
}

/** Deterministic, so that a re-run appends the same event IDs: `<prefix>:` + SHA-256 of (user, field, value, ts). */
export function profileReadEventId(prefix: string, userId: string, field: string, value: unknown, ts: number): string {
  const digest = createHash('sha256')
    .update(canonicalJson([userId, field, value, ts]))
    .digest('base64url');
  return `${prefix}:${digest}`;
}

/** The bootstrap's entries for one local user's profile (profile topic, key: user ID). */
export function profileSnapshotEntries(userId: string, profile: HomeserverProfile): ProfileFieldObserved[] {
  return [...profile.fields].map(([field, value]) => ({
    v: 1,
    id: profileReadEventId('bootstrap', userId, field, value, BOOTSTRAP_PROFILE_TS),
    type: 'profile.field.observed',
    user_id: userId,
    field,
    value,
    ts: BOOTSTRAP_PROFILE_TS,
  }));
}
