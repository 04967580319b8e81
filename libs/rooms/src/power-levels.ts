/** The parts of `m.room.power_levels` membership needs, with the spec's defaults. */
export interface PowerLevels {
  readonly users: Readonly<Record<string, number>>;
  readonly usersDefault: number;
  readonly stateDefault: number;
  readonly invite: number;
  readonly kick: number;
  readonly ban: number;
  readonly events: Readonly<Record<string, number>>;
}

function level(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) ? value : fallback;
}

/** Reads power levels from event content; without an event, the creator holds 100 (room v1–11 rules). */
export function powerLevelsFrom(content: Readonly<Record<string, unknown>> | undefined, creator: string): PowerLevels {
  if (!content) return { users: { [creator]: 100 }, usersDefault: 0, stateDefault: 0, invite: 0, kick: 50, ban: 50, events: {} };
  // Null-prototype maps: keys come from event content (`__proto__` must be a key like any other).
  const users: Record<string, number> = Object.create(null) as Record<string, number>;
  const rawUsers = content['users'];
  if (rawUsers && typeof rawUsers === 'object') {
    for (const [user, value] of Object.entries(rawUsers as Record<string, unknown>)) users[user] = level(value, 0);
  }
  const events: Record<string, number> = Object.create(null) as Record<string, number>;
  const rawEvents = content['events'];
  if (rawEvents && typeof rawEvents === 'object') {
    for (const [type, value] of Object.entries(rawEvents as Record<string, unknown>)) events[type] = level(value, 50);
  }
  return {
    users,
    usersDefault: level(content['users_default'], 0),
    stateDefault: level(content['state_default'], 50),
    invite: level(content['invite'], 0),
    kick: level(content['kick'], 50),
    ban: level(content['ban'], 50),
    events,
  };
}

export function userLevel(levels: PowerLevels, userId: string): number {
  // Own properties only: a user ID or event type such as `constructor` must not find Object's members.
  return Object.hasOwn(levels.users, userId) ? levels.users[userId]! : levels.usersDefault;
}

/** The level needed to send a state event of `type`. */
export function stateEventLevel(levels: PowerLevels, type: string): number {
  return Object.hasOwn(levels.events, type) ? levels.events[type]! : levels.stateDefault;
}

/** Default content of `m.room.power_levels` for a new room. */
export function initialPowerLevels(creator: string, alsoAdmins: readonly string[] = []): Record<string, unknown> {
  const users: Record<string, number> = { [creator]: 100 };
  for (const user of alsoAdmins) users[user] = 100;
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 0,
  };
}
