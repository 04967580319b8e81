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
