/**
 * Whose profiles a syncing user may see changed visibility during a sync window (MSC4429):
 * a user is visible when they share a joined room with the syncing user. Comparing the window's
 * start with its end (rather than replaying each change) gives the log-order semantics the MSC
 * asks for: join → leave → join ends visible, join → leave ends departed.
 */
export interface VisibilityInput {
  /** Users sharing a joined room with the syncing user now (the syncing user included). */
  readonly visibleNow: ReadonlySet<string>;
  /** Users whose visibility may have changed: members touched by membership events in the window. */
  readonly candidates: ReadonlySet<string>;
  /** Candidates who share, now, a joined room whose membership did not change in the window. */
  readonly sharingUnchangedRoom: ReadonlySet<string>;
  /**
   * Candidates who shared a joined room with the syncing user throughout the window: a room both
   * were joined to at its start and end, with no leave, kick or ban of either in it meanwhile.
   */
  readonly sharedThroughout: ReadonlySet<string>;
  /** For each room whose membership changed in the window: memberships at the window's start. */
  readonly membershipAtStart: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly me: string;
}

export interface VisibilityChanges {
  /** Visible now but not at the start: they arrive with their whole (requested) profile. */
  readonly newlyVisible: ReadonlySet<string>;
  /**
   * Visible at both ends but perhaps not in between (left and joined again): they arrive with
   * their whole requested profile, unset fields as `null`, since the client may hold old values.
   */
  readonly rejoined: ReadonlySet<string>;
  /** Visible at the start but not now: they arrive as `profile_updates: null`. */
  readonly departed: ReadonlySet<string>;
}

export function visibilityChanges(input: VisibilityInput): VisibilityChanges {
  const newlyVisible = new Set<string>();
  const departed = new Set<string>();
  const rejoined = new Set<string>();
  for (const user of input.candidates) {
    if (user === input.me) continue;
    let wasVisible = input.sharingUnchangedRoom.has(user);
    for (const members of input.membershipAtStart.values()) {
      if (wasVisible) break;
      wasVisible = members.get(input.me) === 'join' && members.get(user) === 'join';
    }
    const isVisible = input.visibleNow.has(user);
    if (isVisible && !wasVisible) newlyVisible.add(user);
    // join → leave → join inside one window ends with the whole profile, as a fresh join would.
    // Visible at both ends without a room shared throughout: the visibility may have lapsed.
    if (isVisible && wasVisible && !input.sharedThroughout.has(user)) rejoined.add(user);
    if (!isVisible && wasVisible) departed.add(user);
  }
  return { newlyVisible, rejoined, departed };
}

/** A member event in a sync window: `userId`'s membership in `roomId` became `membership` (a kick is a `leave`). */
export interface MemberEventFact {
  readonly roomId: string;
  readonly userId: string;
  readonly membership: string;
}

/** A membership as it stands now. */
export interface MembershipFact {
  readonly roomId: string;
  readonly userId: string;
  readonly membership: string;
}

/** What the projection says about a sync window's membership history: facts only, the rule is below. */
export interface VisibilityWindowFacts {
  readonly me: string;
  /** Users sharing a joined room with `me` now (`me` included). */
  readonly visibleNow: ReadonlySet<string>;
  /** Member events in the window, in the rooms `me` has (or had) a membership in. */
  readonly memberEvents: readonly MemberEventFact[];
  /** Users whose visibility may have changed (see visibilityCandidates). */
  readonly candidates: ReadonlySet<string>;
  /** Candidates joined, now, to a room `me` is joined to that had no member event in the window. */
  readonly sharingUnchangedRoom: ReadonlySet<string>;
  /** Per room with a member event in the window: the memberships of `me` and the candidates at its start (`leave` when none). */
  readonly membershipAtStart: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** The memberships of `me` and the candidates, now, in the rooms with a member event in the window. */
  readonly membershipNow: readonly MembershipFact[];
}

/** The rooms with a member event in the window, each once. */
export function roomsWithMemberEvents(memberEvents: readonly MemberEventFact[]): string[] {
  return [...new Set(memberEvents.map((event) => event.roomId))];
}

/** The rooms in which `me`'s own membership changed in the window: there, every member is a candidate. */
export function roomsWhereMembershipChanged(me: string, memberEvents: readonly MemberEventFact[]): string[] {
  return [...new Set(memberEvents.filter((event) => event.userId === me).map((event) => event.roomId))];
}

/**
 * Users whose visibility may have changed in the window: everyone a member event touched, and
 * every member of the rooms where `me`'s own membership changed. Never `me`.
 */
export function visibilityCandidates(
  me: string,
  memberEvents: readonly MemberEventFact[],
  membersWhereMineChanged: Iterable<string>,
): Set<string> {
  const candidates = new Set([...memberEvents.map((event) => event.userId), ...membersWhereMineChanged]);
  candidates.delete(me);
  return candidates;
}

/**
 * Candidates who shared a joined room with `me` throughout the window: a room whose membership
 * did not change (`sharingUnchangedRoom`), or a changed one where both were joined at the start
 * and are now, and neither left, was kicked or was banned meanwhile.
 */
export function sharedThroughoutWindow(facts: VisibilityWindowFacts): Set<string> {
  const pair = (roomId: string, userId: string) => JSON.stringify([roomId, userId]);
  const joinedNow = new Set(facts.membershipNow.filter((row) => row.membership === 'join').map((row) => pair(row.roomId, row.userId)));
  const lapsed = new Set(
    facts.memberEvents
      .filter((event) => event.membership === 'leave' || event.membership === 'ban')
      .map((event) => pair(event.roomId, event.userId)),
  );
  const steady = (roomId: string, member: string): boolean =>
    facts.membershipAtStart.get(roomId)?.get(member) === 'join' && joinedNow.has(pair(roomId, member)) && !lapsed.has(pair(roomId, member));
  const changedRooms = roomsWithMemberEvents(facts.memberEvents);
  const shared = new Set(facts.sharingUnchangedRoom);
  for (const candidate of facts.candidates) {
    if (changedRooms.some((roomId) => steady(roomId, facts.me) && steady(roomId, candidate))) shared.add(candidate);
  }
  return shared;
}

/** visibilityChanges' input, decided from the window's facts. */
export function windowVisibilityInput(facts: VisibilityWindowFacts): VisibilityInput {
  return {
    visibleNow: facts.visibleNow,
    candidates: facts.candidates,
    sharedThroughout: sharedThroughoutWindow(facts),
    sharingUnchangedRoom: facts.sharingUnchangedRoom,
    membershipAtStart: facts.membershipAtStart,
    me: facts.me,
  };
}
