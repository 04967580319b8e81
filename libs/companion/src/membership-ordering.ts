/**
 * Which member event of a (room, user) is current, when facts arrive out of the room's order.
 *
 * In companion mode membership facts come from two sources that overlap: the bootstrap's
 * snapshot of the homeserver's current state, and the Application Service feed, which on first
 * registration replays the whole history (old events arrive after the snapshot that already holds
 * their successors) and afterwards delivers live events, in order within a room only. Arrival
 * order is therefore not room order. The rule, per (room, user):
 * - nothing known yet: the fact applies;
 * - the same event again (a retried transaction, a re-run bootstrap): nothing to do;
 * - a feed event that names the current event as the one it replaced (`unsigned.replaces_state`)
 *   is its direct successor: it applies;
 * - otherwise the later event wins by `origin_server_ts` (ties keep what is there). A replayed old
 *   event loses to the snapshot's newer one; a snapshot never overrides a membership the feed
 *   observed later, but does repair one the feed missed (its event is newer).
 */
export interface KnownMembership {
  readonly eventId: string;
  readonly originServerTs: number;
}

export interface MembershipFact {
  readonly eventId: string;
  readonly originServerTs: number;
  /** The event this one replaced, as the homeserver reported it (feed only). */
  readonly replacesState?: string | undefined;
}

export function supersedes(current: KnownMembership | undefined, next: MembershipFact): boolean {
  if (current === undefined) return true;
  if (next.eventId === current.eventId) return false;
  if (next.replacesState !== undefined && next.replacesState === current.eventId) return true;
  return next.originServerTs > current.originServerTs;
}
