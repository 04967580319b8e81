import { describe, expect, it } from 'vitest';
import {
  applyRoomEvent,
  authorizeRoomEvent,
  createRoomEvents,
  type CreateRoomPlan,
  emptyRoomState,
  initialPowerLevels,
  type Membership,
  powerLevelsFrom,
  type RoomEvent,
  type RoomPreset,
  type RoomState,
  stateEventLevel,
  userLevel,
} from '@mx/rooms';

// The room rules of libs/rooms, judged by their outcomes: allowed, or refused with which errcode.
// Rooms are built the way the projector builds them: createRoom's events, then each later event
// authorized and applied in log order.

const ROOM = '!room:hs';
const ADMIN = '@admin:hs'; // the creator, level 100
const MOD = '@mod:hs'; // level 50
const MOD2 = '@mod2:hs'; // level 50
const USER = '@user:hs'; // level 0 (users_default)
const OTHER = '@other:hs'; // level 0
const STRANGER = '@stranger:hs'; // never in the room

let clock = 1_000;

function stateEvent(type: string, stateKey: string, sender: string, content: Record<string, unknown>): RoomEvent {
  clock += 1;
  return { event_id: `$e${clock}`, room_id: ROOM, type, state_key: stateKey, sender, origin_server_ts: clock, content };
}

function member(sender: string, target: string, membership: string): RoomEvent {
  return stateEvent('m.room.member', target, sender, { membership });
}

/** `allowed`, or the errcode of the refusal. */
function outcome(state: RoomState, event: RoomEvent): string {
  const refusal = authorizeRoomEvent(state, event);
  return refusal === null ? 'allowed' : refusal.errcode;
}

/** Authorizes and applies each event in order; every one must be allowed. */
function applyAll(state: RoomState, events: readonly RoomEvent[]): RoomState {
  return events.reduce((current, event) => {
    expect(outcome(current, event), `${event.type} ${event.sender} -> ${event.state_key} ${JSON.stringify(event.content)}`).toBe('allowed');
    return applyRoomEvent(current, event);
  }, state);
}

function plan(overrides: Partial<CreateRoomPlan> = {}): CreateRoomPlan {
  return {
    roomId: ROOM,
    creator: ADMIN,
    creatorProfile: {},
    roomVersion: '11',
    preset: 'private_chat',
    invite: [],
    isDirect: false,
    now: 1,
    ...overrides,
  };
}

function createdRoom(preset: RoomPreset, invite: readonly string[] = []): RoomState {
  return applyAll(emptyRoomState(), createRoomEvents(plan({ preset, invite })));
}

/**
 * A room with ADMIN (100), MOD and MOD2 (50) and USER and OTHER (0) joined, the given join rule,
 * and the spec's default power levels otherwise.
 */
function populatedRoom(joinRule: 'public' | 'invite' = 'invite', levels: Record<string, unknown> = {}): RoomState {
  let state = createdRoom(joinRule === 'public' ? 'public_chat' : 'private_chat');
  const powerLevels = { ...initialPowerLevels(ADMIN), users: { [ADMIN]: 100, [MOD]: 50, [MOD2]: 50 }, ...levels };
  state = applyAll(state, [stateEvent('m.room.power_levels', '', ADMIN, powerLevels)]);
  for (const user of [MOD, MOD2, USER, OTHER]) {
    state = applyAll(state, [member(ADMIN, user, 'invite'), member(user, user, 'join')]);
  }
  return state;
}

function membershipAfter(state: RoomState, event: RoomEvent, userId: string): Membership | undefined {
  return applyRoomEvent(state, event).memberships.get(userId);
}

describe('authorizeRoomEvent', () => {
  describe('room creation', () => {
    it('allows m.room.create once, then refuses it with M_BAD_STATE', () => {
      const create = stateEvent('m.room.create', '', ADMIN, { creator: ADMIN, room_version: '11' });
      expect(outcome(emptyRoomState(), create)).toBe('allowed');
      expect(outcome(applyRoomEvent(emptyRoomState(), create), stateEvent('m.room.create', '', ADMIN, { creator: ADMIN }))).toBe(
        'M_BAD_STATE',
      );
    });

    it('refuses anything in a room that does not exist with M_NOT_FOUND', () => {
      expect(outcome(emptyRoomState(), member(USER, USER, 'join'))).toBe('M_NOT_FOUND');
      expect(outcome(emptyRoomState(), stateEvent('m.room.name', '', USER, { name: 'x' }))).toBe('M_NOT_FOUND');
    });

    it('lets only the creator’s own join follow m.room.create', () => {
      const created = applyRoomEvent(emptyRoomState(), stateEvent('m.room.create', '', ADMIN, { creator: ADMIN, room_version: '11' }));
      expect(outcome(created, member(USER, USER, 'join'))).toBe('M_FORBIDDEN');
      expect(outcome(created, member(ADMIN, USER, 'invite'))).toBe('M_FORBIDDEN');
      expect(outcome(created, stateEvent('m.room.name', '', ADMIN, { name: 'early' }))).toBe('M_FORBIDDEN');
      expect(outcome(created, member(ADMIN, ADMIN, 'join'))).toBe('allowed');
    });
  });

  describe('join', () => {
    it('lets anyone join a public room, and only the invited join an invite-only one', () => {
      expect(outcome(populatedRoom('public'), member(STRANGER, STRANGER, 'join'))).toBe('allowed');
      const invite = populatedRoom('invite');
      expect(outcome(invite, member(STRANGER, STRANGER, 'join'))).toBe('M_FORBIDDEN');
      const invited = applyAll(invite, [member(USER, STRANGER, 'invite')]);
      expect(outcome(invited, member(STRANGER, STRANGER, 'join'))).toBe('allowed');
    });

    it('refuses joining on someone else’s behalf, even an admin’s', () => {
      expect(outcome(populatedRoom('public'), member(ADMIN, STRANGER, 'join'))).toBe('M_FORBIDDEN');
    });

    it('accepts a join by a user who is already joined (a profile change)', () => {
      expect(outcome(populatedRoom('invite'), member(USER, USER, 'join'))).toBe('allowed');
    });

    it('refuses a banned user, in a public room too, until unbanned', () => {
      const banned = applyAll(populatedRoom('public'), [member(MOD, USER, 'ban')]);
      expect(outcome(banned, member(USER, USER, 'join'))).toBe('M_FORBIDDEN');
      const unbanned = applyAll(banned, [member(MOD, USER, 'leave')]);
      expect(outcome(unbanned, member(USER, USER, 'join'))).toBe('allowed');
    });

    it('lets a user who left rejoin a public room but not an invite-only one', () => {
      expect(outcome(applyAll(populatedRoom('public'), [member(USER, USER, 'leave')]), member(USER, USER, 'join'))).toBe('allowed');
      expect(outcome(applyAll(populatedRoom('invite'), [member(USER, USER, 'leave')]), member(USER, USER, 'join'))).toBe('M_FORBIDDEN');
    });

    it('treats a join rule it does not implement (knock) as closed to strangers', () => {
      const knock = applyAll(populatedRoom('invite'), [stateEvent('m.room.join_rules', '', ADMIN, { join_rule: 'knock' })]);
      expect(outcome(knock, member(STRANGER, STRANGER, 'join'))).toBe('M_FORBIDDEN');
    });

    it('follows a change of join rule', () => {
      const opened = applyAll(populatedRoom('invite'), [stateEvent('m.room.join_rules', '', ADMIN, { join_rule: 'public' })]);
      expect(outcome(opened, member(STRANGER, STRANGER, 'join'))).toBe('allowed');
    });
  });

  describe('invite', () => {
    it('lets any joined member invite at the default invite level (0)', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, member(USER, STRANGER, 'invite'))).toBe('allowed');
      expect(membershipAfter(state, member(USER, STRANGER, 'invite'), STRANGER)).toBe('invite');
    });

    it('refuses invites from non-members, and from users only invited themselves', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, member(STRANGER, OTHER, 'invite'))).toBe('M_FORBIDDEN');
      const invited = applyAll(state, [member(USER, STRANGER, 'invite')]);
      expect(outcome(invited, member(STRANGER, '@third:hs', 'invite'))).toBe('M_FORBIDDEN');
      const left = applyAll(state, [member(USER, USER, 'leave')]);
      expect(outcome(left, member(USER, STRANGER, 'invite'))).toBe('M_FORBIDDEN');
    });

    it('refuses inviting a banned or a joined user; inviting again an invited one is allowed', () => {
      const state = applyAll(populatedRoom('invite'), [member(MOD, STRANGER, 'ban')]);
      expect(outcome(state, member(USER, STRANGER, 'invite'))).toBe('M_FORBIDDEN');
      expect(outcome(state, member(USER, OTHER, 'invite'))).toBe('M_FORBIDDEN');
      const invited = applyAll(state, [member(USER, '@guest:hs', 'invite')]);
      expect(outcome(invited, member(OTHER, '@guest:hs', 'invite'))).toBe('allowed');
    });

    it('needs the room’s invite level', () => {
      const state = populatedRoom('invite', { invite: 50 });
      expect(outcome(state, member(USER, STRANGER, 'invite'))).toBe('M_FORBIDDEN');
      expect(outcome(state, member(MOD, STRANGER, 'invite'))).toBe('allowed');
    });
  });

  describe('leave', () => {
    it('lets a member leave, and an invited user decline', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, member(USER, USER, 'leave'))).toBe('allowed');
      expect(membershipAfter(state, member(USER, USER, 'leave'), USER)).toBe('leave');
      const invited = applyAll(state, [member(USER, STRANGER, 'invite')]);
      expect(outcome(invited, member(STRANGER, STRANGER, 'leave'))).toBe('allowed');
    });

    it('refuses leaving a room one is not in: never joined, already left, or banned', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, member(STRANGER, STRANGER, 'leave'))).toBe('M_FORBIDDEN');
      expect(outcome(applyAll(state, [member(USER, USER, 'leave')]), member(USER, USER, 'leave'))).toBe('M_FORBIDDEN');
      expect(outcome(applyAll(state, [member(MOD, USER, 'ban')]), member(USER, USER, 'leave'))).toBe('M_FORBIDDEN');
    });

    it('lets the creator leave too', () => {
      expect(outcome(populatedRoom('invite'), member(ADMIN, ADMIN, 'leave'))).toBe('allowed');
    });
  });

  describe('kick (leave of another user)', () => {
    it('needs the kick level (50 by default) and a level above the target’s', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, member(MOD, USER, 'leave'))).toBe('allowed');
      expect(outcome(state, member(ADMIN, MOD, 'leave'))).toBe('allowed');
      expect(outcome(state, member(USER, OTHER, 'leave'))).toBe('M_FORBIDDEN');
    });

    it('refuses kicking a user of a higher or equal level', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, member(MOD, ADMIN, 'leave'))).toBe('M_FORBIDDEN');
      expect(outcome(state, member(MOD, MOD2, 'leave'))).toBe('M_FORBIDDEN');
    });

    it('follows the room’s kick level', () => {
      const state = populatedRoom('invite', { kick: 0, users: { [ADMIN]: 100, [MOD]: 50, [MOD2]: 50, [USER]: 1 } });
      expect(outcome(state, member(USER, OTHER, 'leave'))).toBe('allowed');
      expect(outcome(state, member(OTHER, USER, 'leave'))).toBe('M_FORBIDDEN');
    });

    it('revokes an invite like a kick', () => {
      const invited = applyAll(populatedRoom('invite'), [member(USER, STRANGER, 'invite')]);
      expect(outcome(invited, member(MOD, STRANGER, 'leave'))).toBe('allowed');
      expect(outcome(invited, member(OTHER, STRANGER, 'leave'))).toBe('M_FORBIDDEN');
    });

    it('refuses kicking a user who is not in the room, and kicks by non-members', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, member(MOD, STRANGER, 'leave'))).toBe('M_FORBIDDEN');
      const left = applyAll(state, [member(MOD, MOD, 'leave')]);
      expect(outcome(left, member(MOD, USER, 'leave'))).toBe('M_FORBIDDEN');
    });
  });

  describe('ban and unban', () => {
    it('needs the ban level (50 by default) and a level above the target’s', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, member(MOD, USER, 'ban'))).toBe('allowed');
      expect(membershipAfter(state, member(MOD, USER, 'ban'), USER)).toBe('ban');
      expect(outcome(state, member(USER, OTHER, 'ban'))).toBe('M_FORBIDDEN');
      expect(outcome(state, member(MOD, ADMIN, 'ban'))).toBe('M_FORBIDDEN');
      expect(outcome(state, member(MOD, MOD2, 'ban'))).toBe('M_FORBIDDEN');
    });

    it('bans users who never were in the room (a pre-emptive ban)', () => {
      expect(outcome(populatedRoom('invite'), member(MOD, STRANGER, 'ban'))).toBe('allowed');
    });

    it('refuses bans by non-members and follows the room’s ban level', () => {
      expect(outcome(populatedRoom('invite'), member(STRANGER, USER, 'ban'))).toBe('M_FORBIDDEN');
      const strict = populatedRoom('invite', { ban: 100 });
      expect(outcome(strict, member(MOD, USER, 'ban'))).toBe('M_FORBIDDEN');
      expect(outcome(strict, member(ADMIN, USER, 'ban'))).toBe('allowed');
    });

    it('unbans (leave of a banned user) at the ban level, whatever the target’s level', () => {
      const banned = applyAll(populatedRoom('invite'), [member(ADMIN, MOD2, 'ban')]);
      expect(outcome(banned, member(MOD, MOD2, 'leave'))).toBe('allowed'); // MOD2 is at MOD's level: no kick, but an unban
      expect(membershipAfter(banned, member(MOD, MOD2, 'leave'), MOD2)).toBe('leave');
      expect(outcome(banned, member(USER, MOD2, 'leave'))).toBe('M_FORBIDDEN');
      expect(outcome(banned, member(STRANGER, MOD2, 'leave'))).toBe('M_FORBIDDEN');
    });
  });

  it('refuses a membership it does not implement', () => {
    const state = populatedRoom('public');
    expect(outcome(state, member(STRANGER, STRANGER, 'knock'))).toBe('M_FORBIDDEN');
    expect(outcome(state, member(STRANGER, STRANGER, 'joined'))).toBe('M_FORBIDDEN');
    expect(outcome(state, stateEvent('m.room.member', STRANGER, STRANGER, {}))).toBe('M_FORBIDDEN');
  });

  describe('other state events', () => {
    it('need the event type’s level from `events`, else state_default', () => {
      const state = populatedRoom('invite');
      expect(outcome(state, stateEvent('m.room.name', '', USER, { name: 'x' }))).toBe('M_FORBIDDEN');
      expect(outcome(state, stateEvent('m.room.name', '', MOD, { name: 'x' }))).toBe('allowed');
      expect(outcome(state, stateEvent('m.room.power_levels', '', MOD, initialPowerLevels(ADMIN)))).toBe('M_FORBIDDEN');
      expect(outcome(state, stateEvent('m.room.power_levels', '', ADMIN, initialPowerLevels(ADMIN)))).toBe('allowed');
      expect(outcome(state, stateEvent('com.example.topic', '', USER, {}))).toBe('M_FORBIDDEN');
      expect(outcome(state, stateEvent('com.example.topic', '', MOD, {}))).toBe('allowed');
    });

    it('are refused from non-members, invited users and users who left, whatever their level', () => {
      const state = populatedRoom('invite', { state_default: 0 });
      expect(outcome(state, stateEvent('com.example.topic', '', STRANGER, {}))).toBe('M_FORBIDDEN');
      const invited = applyAll(state, [member(USER, STRANGER, 'invite')]);
      expect(outcome(invited, stateEvent('com.example.topic', '', STRANGER, {}))).toBe('M_FORBIDDEN');
      const left = applyAll(state, [member(ADMIN, ADMIN, 'leave')]);
      expect(outcome(left, stateEvent('com.example.topic', '', ADMIN, {}))).toBe('M_FORBIDDEN');
    });

    it('take event types named like Object’s members at state_default', () => {
      const state = populatedRoom('invite');
      for (const type of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
        expect(outcome(state, stateEvent(type, '', USER, {})), type).toBe('M_FORBIDDEN');
        expect(outcome(state, stateEvent(type, '', MOD, {})), type).toBe('allowed');
      }
    });

    it('follow a power levels change', () => {
      const state = populatedRoom('invite');
      const lowered = applyAll(state, [stateEvent('m.room.power_levels', '', ADMIN, { ...initialPowerLevels(ADMIN), state_default: 0 })]);
      expect(outcome(lowered, stateEvent('com.example.topic', '', USER, {}))).toBe('allowed');
      // The new content names only ADMIN: MOD is back at users_default.
      expect(outcome(lowered, member(MOD, USER, 'ban'))).toBe('M_FORBIDDEN');
    });
  });
});

describe('power levels', () => {
  it('without an m.room.power_levels event: the creator at 100, everyone else 0, state events at 0', () => {
    const levels = powerLevelsFrom(undefined, ADMIN);
    expect(userLevel(levels, ADMIN)).toBe(100);
    expect(userLevel(levels, USER)).toBe(0);
    expect(stateEventLevel(levels, 'm.room.name')).toBe(0);
    expect({ invite: levels.invite, kick: levels.kick, ban: levels.ban }).toEqual({ invite: 0, kick: 50, ban: 50 });
  });

  it('with an empty event: the spec’s defaults (state_default 50, nobody listed)', () => {
    const levels = powerLevelsFrom({}, ADMIN);
    expect(userLevel(levels, ADMIN)).toBe(0);
    expect(stateEventLevel(levels, 'm.room.name')).toBe(50);
    expect({ usersDefault: levels.usersDefault, invite: levels.invite, kick: levels.kick, ban: levels.ban }).toEqual({
      usersDefault: 0,
      invite: 0,
      kick: 50,
      ban: 50,
    });
  });

  it('reads users, users_default, events, state_default, invite, kick and ban', () => {
    const levels = powerLevelsFrom(
      { users: { [MOD]: 50 }, users_default: 5, events: { 'm.room.name': 10 }, state_default: 75, invite: 1, kick: 2, ban: 3 },
      ADMIN,
    );
    expect(userLevel(levels, MOD)).toBe(50);
    expect(userLevel(levels, USER)).toBe(5);
    expect(stateEventLevel(levels, 'm.room.name')).toBe(10);
    expect(stateEventLevel(levels, 'm.room.topic')).toBe(75);
    expect({ invite: levels.invite, kick: levels.kick, ban: levels.ban }).toEqual({ invite: 1, kick: 2, ban: 3 });
  });

  it('falls back to the default for values that are not integers', () => {
    const levels = powerLevelsFrom(
      {
        users: { [MOD]: '50', [MOD2]: 1.5 },
        users_default: null,
        events: { 'm.room.name': 'high' },
        state_default: '0',
        kick: true,
        ban: [],
      },
      ADMIN,
    );
    expect(userLevel(levels, MOD)).toBe(0);
    expect(userLevel(levels, MOD2)).toBe(0);
    expect(levels.usersDefault).toBe(0);
    expect(stateEventLevel(levels, 'm.room.name')).toBe(50);
    expect(levels.stateDefault).toBe(50);
    expect({ kick: levels.kick, ban: levels.ban }).toEqual({ kick: 50, ban: 50 });
  });

  it('ignores `users` and `events` that are not objects', () => {
    const levels = powerLevelsFrom({ users: 'everyone', events: 7, users_default: 3 }, ADMIN);
    expect(userLevel(levels, ADMIN)).toBe(3);
    expect(stateEventLevel(levels, 'm.room.name')).toBe(50);
  });

  it('reads own keys only: user IDs and event types named like Object’s members', () => {
    const levels = powerLevelsFrom({ users_default: 7, state_default: 60 }, ADMIN);
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      expect(userLevel(levels, name), name).toBe(7);
      expect(stateEventLevel(levels, name), name).toBe(60);
    }
    const withoutEvent = powerLevelsFrom(undefined, ADMIN);
    expect(userLevel(withoutEvent, 'constructor')).toBe(0);
    expect(stateEventLevel(withoutEvent, 'constructor')).toBe(0);
  });

  it('keeps `__proto__` in content as a key like any other, without touching prototypes', () => {
    const content = JSON.parse('{"users": {"__proto__": 100, "constructor": 90}, "events": {"__proto__": 0, "constructor": 80}}') as Record<
      string,
      unknown
    >;
    const levels = powerLevelsFrom(content, ADMIN);
    expect(userLevel(levels, '__proto__')).toBe(100);
    expect(userLevel(levels, 'constructor')).toBe(90);
    expect(stateEventLevel(levels, '__proto__')).toBe(0);
    expect(stateEventLevel(levels, 'constructor')).toBe(80);
    expect(userLevel(levels, USER)).toBe(0);
    expect(stateEventLevel(levels, 'm.room.topic')).toBe(50);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['constructor']).toBe(Object);
  });

  it('initial power levels: the creator and the extra admins at 100, the spec’s event levels', () => {
    const content = initialPowerLevels(ADMIN, [MOD]);
    expect(content['users']).toEqual({ [ADMIN]: 100, [MOD]: 100 });
    const levels = powerLevelsFrom(content, ADMIN);
    expect(userLevel(levels, ADMIN)).toBe(100);
    expect(userLevel(levels, MOD)).toBe(100);
    expect(userLevel(levels, USER)).toBe(0);
    expect(stateEventLevel(levels, 'm.room.power_levels')).toBe(100);
    expect(stateEventLevel(levels, 'm.room.history_visibility')).toBe(100);
    expect(stateEventLevel(levels, 'm.room.name')).toBe(50);
    expect(stateEventLevel(levels, 'm.room.canonical_alias')).toBe(50);
    expect(stateEventLevel(levels, 'm.room.avatar')).toBe(50);
    expect(stateEventLevel(levels, 'm.room.join_rules')).toBe(50);
    expect({ invite: levels.invite, kick: levels.kick, ban: levels.ban }).toEqual({ invite: 0, kick: 50, ban: 50 });
    expect(initialPowerLevels(ADMIN)['users']).toEqual({ [ADMIN]: 100 });
  });
});

describe('createRoomEvents', () => {
  const contentOf = (events: readonly RoomEvent[], type: string): Readonly<Record<string, unknown>> | undefined =>
    events.find((event) => event.type === type)?.content;

  it('produces the spec’s events in order, all from the creator in the room', () => {
    const events = createRoomEvents(plan({ preset: 'public_chat', name: 'Lobby', alias: '#lobby:hs', invite: [USER, OTHER], now: 5000 }));
    expect(events.map((event) => [event.type, event.state_key])).toEqual([
      ['m.room.create', ''],
      ['m.room.member', ADMIN],
      ['m.room.power_levels', ''],
      ['m.room.canonical_alias', ''],
      ['m.room.join_rules', ''],
      ['m.room.history_visibility', ''],
      ['m.room.guest_access', ''],
      ['m.room.name', ''],
      ['m.room.member', USER],
      ['m.room.member', OTHER],
    ]);
    expect(new Set(events.map((event) => event.room_id))).toEqual(new Set([ROOM]));
    expect(new Set(events.map((event) => event.sender))).toEqual(new Set([ADMIN]));
    expect(events.map((event) => event.origin_server_ts)).toEqual(events.map((_, index) => 5000 + index));
    expect(new Set(events.map((event) => event.event_id)).size).toBe(events.length);
    for (const event of events) expect(event.event_id).toMatch(/^\$[A-Za-z0-9_-]+$/);
    expect(contentOf(events, 'm.room.create')).toEqual({ creator: ADMIN, room_version: '11' });
    expect(contentOf(events, 'm.room.canonical_alias')).toEqual({ alias: '#lobby:hs' });
    expect(contentOf(events, 'm.room.name')).toEqual({ name: 'Lobby' });
  });

  it('leaves out the alias and the name when not asked for', () => {
    const types = createRoomEvents(plan()).map((event) => event.type);
    expect(types).not.toContain('m.room.canonical_alias');
    expect(types).not.toContain('m.room.name');
    expect(types).toHaveLength(6);
  });

  it.each([
    ['public_chat', 'public', 'forbidden'],
    ['private_chat', 'invite', 'can_join'],
    ['trusted_private_chat', 'invite', 'can_join'],
  ] as const)('%s: join rule %s, history shared, guest access %s', (preset, joinRule, guestAccess) => {
    const events = createRoomEvents(plan({ preset }));
    expect(contentOf(events, 'm.room.join_rules')).toEqual({ join_rule: joinRule });
    expect(contentOf(events, 'm.room.history_visibility')).toEqual({ history_visibility: 'shared' });
    expect(contentOf(events, 'm.room.guest_access')).toEqual({ guest_access: guestAccess });
  });

  it('gives the creator 100 and, in trusted_private_chat only, the invitees too', () => {
    for (const preset of ['public_chat', 'private_chat'] as const) {
      expect(contentOf(createRoomEvents(plan({ preset, invite: [USER] })), 'm.room.power_levels')).toEqual(initialPowerLevels(ADMIN));
    }
    const trusted = createRoomEvents(plan({ preset: 'trusted_private_chat', invite: [USER, OTHER] }));
    expect(contentOf(trusted, 'm.room.power_levels')).toEqual(initialPowerLevels(ADMIN, [USER, OTHER]));
  });

  it('joins the creator with their profile, which cannot change the membership', () => {
    const events = createRoomEvents(plan({ creatorProfile: { displayname: 'Admin', avatar_url: 'mxc://hs/a', membership: 'leave' } }));
    expect(events[1]?.content).toEqual({ displayname: 'Admin', avatar_url: 'mxc://hs/a', membership: 'join' });
  });

  it('marks invites as direct only for is_direct', () => {
    const invites = (isDirect: boolean) =>
      createRoomEvents(plan({ invite: [USER], isDirect }))
        .filter((event) => event.state_key === USER)
        .map((event) => event.content);
    expect(invites(true)).toEqual([{ membership: 'invite', is_direct: true }]);
    expect(invites(false)).toEqual([{ membership: 'invite' }]);
  });

  it.each(['public_chat', 'private_chat', 'trusted_private_chat'] as const)('%s: every event passes the room rules in order', (preset) => {
    const state = createdRoom(preset, [USER, OTHER]);
    expect(state.exists).toBe(true);
    expect(state.creator).toBe(ADMIN);
    expect(state.joinRule).toBe(preset === 'public_chat' ? 'public' : 'invite');
    expect(Object.fromEntries(state.memberships)).toEqual({ [ADMIN]: 'join', [USER]: 'invite', [OTHER]: 'invite' });
    expect(outcome(state, member(USER, USER, 'join'))).toBe('allowed');
    expect(outcome(state, member(STRANGER, STRANGER, 'join'))).toBe(preset === 'public_chat' ? 'allowed' : 'M_FORBIDDEN');
  });

  it('trusted_private_chat: an invitee who joined may act as an admin', () => {
    const state = applyAll(createdRoom('trusted_private_chat', [USER]), [member(USER, USER, 'join')]);
    expect(outcome(state, stateEvent('m.room.power_levels', '', USER, initialPowerLevels(ADMIN, [USER])))).toBe('allowed');
    expect(outcome(state, member(USER, ADMIN, 'leave'))).toBe('M_FORBIDDEN'); // equal level: no kick
    const privateRoom = applyAll(createdRoom('private_chat', [USER]), [member(USER, USER, 'join')]);
    expect(outcome(privateRoom, stateEvent('m.room.power_levels', '', USER, initialPowerLevels(ADMIN, [USER])))).toBe('M_FORBIDDEN');
  });
});
