import type { MembershipView } from './membership-views.js';
import type { RecentChanges } from './recent-changes.js';
import type { SyncPositions } from './sync-token.js';

/** field → new value, or null when the field was removed. */
export type ProfileFieldValues = Record<string, unknown>;

/**
 * An incremental sync answered from a replica's memory: nothing for the rooms section, and for
 * the users section the latest value of each requested field changed in the window, of every
 * user the syncing user shares a room with. Or why it must be read from the projection instead.
 */
export type MemoryAnswer =
  | { readonly kind: 'answer'; readonly users: Map<string, ProfileFieldValues> }
  | { readonly kind: 'fallback'; readonly reason: MemoryFallbackReason };

/**
 * `window`: a commit after the token is not known (older than the window, cold replica, too
 * large to announce); `view`: the membership view was read at positions this replica has not
 * heard yet; `membership`: a membership commit after the token concerns the user (their rooms
 * section changes, or who they share a room with may have).
 */
export type MemoryFallbackReason = 'window' | 'view' | 'membership';

/**
 * Decides an incremental sync from `since` to `current` from memory, exactly as the projection
 * would answer it when no membership-topic commit in the window concerns the user: no joined,
 * invited or left room changes, nobody becomes visible or departs, so the users section is the
 * latest change of each requested field of each visible user (a removal as null).
 */
export function answerFromMemory(
  recent: RecentChanges,
  view: MembershipView,
  userId: string,
  since: SyncPositions,
  current: SyncPositions,
  fields: readonly string[],
): MemoryAnswer {
  if (!recent.covers(since, current)) return { kind: 'fallback', reason: 'window' };
  if (view.membership.some((offset, partition) => offset > (current.membership[partition] ?? 0)))
    return { kind: 'fallback', reason: 'view' };
  if (!recent.membershipQuiet(since.membership, userId, view.joinedRooms)) return { kind: 'fallback', reason: 'membership' };
  const users = new Map<string, ProfileFieldValues>();
  if (fields.length === 0) return { kind: 'answer', users };
  const wanted = new Set(fields);
  recent.forEachProfileChangeOf(userId, view.visible, since.profile, current.profile, (change) => {
    if (!wanted.has(change.field)) return;
    let values = users.get(change.userId);
    if (!values) users.set(change.userId, (values = {}));
    values[change.field] = change.isSet ? change.value : null;
  });
  return { kind: 'answer', users };
}

/**
 * Whether a view read at its positions is still true at `current`: every membership commit heard
 * after its positions is known and none concerns the user (else a commit heard between the read
 * and now may have been missed by the cache's forgetting).
 */
export function viewStillTrue(recent: RecentChanges, userId: string, view: MembershipView, current: SyncPositions): boolean {
  const since = view.membership.map((offset, partition) => Math.min(offset, current.membership[partition] ?? 0));
  return recent.coversMembership(since, current.membership) && recent.membershipQuiet(since, userId, view.joinedRooms);
}
