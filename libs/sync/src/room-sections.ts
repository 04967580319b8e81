/** A room event in a /sync response (ClientEventWithoutRoomID). */
export interface SyncEvent {
  readonly event_id: string;
  readonly type: string;
  readonly state_key: string;
  readonly sender: string;
  readonly origin_server_ts: number;
  readonly content: Readonly<Record<string, unknown>>;
  readonly unsigned: Readonly<Record<string, unknown>>;
}

export interface JoinedRoomSection {
  timeline: { events: SyncEvent[]; limited: boolean; prev_batch: string };
  state: { events: SyncEvent[] };
  ephemeral: { events: never[] };
  account_data: { events: never[] };
  unread_notifications: Record<string, never>;
}

export interface LeftRoomSection {
  timeline: { events: SyncEvent[]; limited: boolean; prev_batch: string };
  state: { events: SyncEvent[] };
  account_data: { events: never[] };
}

const stateKeyOf = (event: Pick<SyncEvent, 'type' | 'state_key'>): string => JSON.stringify([event.type, event.state_key]);

export interface TimelineInput {
  /** The room's events after the token (all of them, for an initial sync), in log order. */
  readonly window: readonly SyncEvent[];
  /** The room's current state. */
  readonly currentState: readonly SyncEvent[];
  readonly limit: number;
  /** Send the whole current state (initial sync, newly joined room), not only what the gap changed. */
  readonly fullState: boolean;
  /** Users whose member events the response needs when lazy-loading members; undefined: all. */
  readonly lazyMembersFor?: ReadonlySet<string>;
  readonly prevBatch: string;
}

/**
 * A joined (or left) room's timeline and state for /sync: the last `limit` events of the window
 * as the timeline (`limited` when more happened), and as state the current value of every state
 * key the client must learn that the timeline does not carry — everything for a full-state room,
 * otherwise the keys changed in the gap before the timeline. Applying state then timeline yields
 * the current state.
 */
export function buildTimeline(input: TimelineInput): { timeline: JoinedRoomSection['timeline']; state: JoinedRoomSection['state'] } {
  const timelineEvents = input.limit === 0 ? [] : input.window.slice(-input.limit);
  const limited = timelineEvents.length < input.window.length;
  const inTimeline = new Set(timelineEvents.map(stateKeyOf));
  const gap = new Set(input.window.slice(0, input.window.length - timelineEvents.length).map(stateKeyOf));
  const senders = new Set(timelineEvents.map((event) => event.sender));
  const state = input.currentState.filter((event) => {
    const key = stateKeyOf(event);
    if (inTimeline.has(key)) return false;
    if (!input.fullState && !gap.has(key)) return false;
    if (
      input.lazyMembersFor &&
      event.type === 'm.room.member' &&
      !input.lazyMembersFor.has(event.state_key) &&
      !senders.has(event.state_key)
    ) {
      return false;
    }
    return true;
  });
  return { timeline: { events: timelineEvents, limited, prev_batch: input.prevBatch }, state: { events: state } };
}

/** Stripped state for an invite: the room's identity plus the invite itself. */
export function strippedState(
  currentState: readonly SyncEvent[],
  invite: SyncEvent,
): { type: string; state_key: string; sender: string; content: Readonly<Record<string, unknown>> }[] {
  const wanted = new Set([
    'm.room.create',
    'm.room.join_rules',
    'm.room.name',
    'm.room.canonical_alias',
    'm.room.avatar',
    'm.room.encryption',
  ]);
  return [...currentState.filter((event) => wanted.has(event.type)), invite].map(({ type, state_key, sender, content }) => ({
    type,
    state_key,
    sender,
    content,
  }));
}
