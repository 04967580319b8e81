import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memberObservedEntry, observedFieldEntries, parseAppserviceTransaction } from '@mx/companion';
import { ConfigValidationError, loadAppConfig } from '@mx/config';
import {
  decodeProfileEvent,
  decodeProfileTopicEvent,
  decodeRoomLogEntry,
  encodeProfileTopicEvent,
  encodeRoomLogEntry,
  type ProfileFieldObserved,
  type RoomMemberObservedEntry,
  UndecodableEventError,
} from '@mx/events';
import { MatrixError } from '@mx/matrix';
import { latestObservedFields } from '../../apps/projector/src/profile/fold-observed-fields.js';
import { foldObservedMemberships } from '../../apps/projector/src/rooms/fold-observed-memberships.js';
import { checkHomeserverToken } from '../../apps/writer/src/appservice/appservice-auth.js';
import { nginxLocations, nginxTarget } from '../support/routing.js';

const observed = (overrides: Partial<RoomMemberObservedEntry> = {}): RoomMemberObservedEntry => ({
  v: 1,
  id: '$e1',
  type: 'room.member_observed',
  room_id: '!r:hs',
  user_id: '@a:hs',
  membership: 'join',
  sender: '@a:hs',
  origin_server_ts: 1000,
  ...overrides,
});

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('room.member_observed codec', () => {
  it('round-trips every entry, optional fields absent, null or set', () => {
    const entry = fc.record(
      {
        v: fc.constant(1 as const),
        id: fc.string().map((s) => `$${s}`),
        type: fc.constant('room.member_observed' as const),
        room_id: fc.constantFrom('!r:hs', '!s:other'),
        user_id: fc.constantFrom('@a:hs', '@b:other'),
        membership: fc.constantFrom('join' as const, 'invite' as const, 'leave' as const, 'ban' as const, 'knock' as const),
        sender: fc.constantFrom('@a:hs', '@b:other'),
        origin_server_ts: fc.nat(),
        replaces_state: fc.string().map((s) => `$${s}`),
        displayname: fc.option(fc.string(), { nil: null }),
        avatar_url: fc.option(fc.string(), { nil: null }),
      },
      { requiredKeys: ['v', 'id', 'type', 'room_id', 'user_id', 'membership', 'sender', 'origin_server_ts'] },
    );
    fc.assert(
      fc.property(entry, (value) => {
        expect(decodeRoomLogEntry(encodeRoomLogEntry(value))).toEqual(value);
      }),
    );
  });

  it.each([
    ['no user_id', { user_id: undefined }],
    ['an unknown membership', { membership: 'joined' }],
    ['a fractional origin_server_ts', { origin_server_ts: 1.5 }],
    ['a numeric displayname', { displayname: 5 }],
    ['an object avatar_url', { avatar_url: {} }],
    ['a numeric replaces_state', { replaces_state: 7 }],
    ['an event ID without $', { id: 'e1' }],
    ['no sender', { sender: undefined }],
  ])('refuses an entry with %s', (_why, change) => {
    expect(() => decodeRoomLogEntry(bytes({ ...observed(), ...change }))).toThrow(UndecodableEventError);
  });

  it('is what the writer appends for a parsed transaction member event', () => {
    const parsed = parseAppserviceTransaction({
      events: [
        {
          type: 'm.room.member',
          event_id: '$j',
          room_id: '!r:hs',
          state_key: '@b:hs',
          sender: '@b:hs',
          origin_server_ts: 5,
          content: { membership: 'join', displayname: 'Bob', avatar_url: null },
          unsigned: { replaces_state: '$i', age: 3 },
        },
        { type: 'm.room.message', event_id: '$m', room_id: '!r:hs', sender: '@b:hs', origin_server_ts: 6, content: { body: 'hi' } },
      ],
    });
    const entry = memberObservedEntry(parsed.memberships[0]!);
    expect(entry).toEqual({
      v: 1,
      id: '$j',
      type: 'room.member_observed',
      room_id: '!r:hs',
      user_id: '@b:hs',
      membership: 'join',
      sender: '@b:hs',
      origin_server_ts: 5,
      replaces_state: '$i',
      displayname: 'Bob',
      avatar_url: null,
    });
    expect(decodeRoomLogEntry(encodeRoomLogEntry(entry))).toEqual(entry);
  });
});

describe('foldObservedMemberships', () => {
  it('applies a new fact, ignores the same event ID again (a retried transaction takes effect once)', () => {
    const first = observed({ displayname: 'Alice' });
    const fold = foldObservedMemberships(new Map(), [
      { offset: 1, entry: first },
      { offset: 2, entry: first },
    ]);
    expect(fold.memberships).toEqual([
      { roomId: '!r:hs', userId: '@a:hs', membership: 'join', eventId: '$e1', offset: 1, originServerTs: 1000 },
    ]);
    expect(fold.ignored).toBe(1);
    const again = foldObservedMemberships(new Map([[JSON.stringify(['!r:hs', '@a:hs']), { eventId: '$e1', originServerTs: 1000 }]]), [
      { offset: 3, entry: first },
    ]);
    expect(again).toEqual({ memberships: [], ignored: 1, history: [] });
  });

  it('keeps every fact that took effect, in log order, as a member event of the membership history', () => {
    const join = observed({ id: '$j', origin_server_ts: 10, displayname: 'Alice' });
    const leave = observed({ id: '$l', membership: 'leave', origin_server_ts: 20, replaces_state: '$j' });
    const stale = observed({ id: '$stale', origin_server_ts: 5 });
    const fold = foldObservedMemberships(new Map(), [
      { offset: 1, entry: join },
      { offset: 2, entry: leave },
      { offset: 3, entry: stale },
    ]);
    expect(fold.history.map(({ offset, event }) => [offset, event.event_id, event.content])).toEqual([
      [1, '$j', { membership: 'join', displayname: 'Alice' }],
      [2, '$l', { membership: 'leave' }],
    ]);
    expect(fold.history[0]!.event).toMatchObject({ type: 'm.room.member', room_id: '!r:hs', state_key: '@a:hs', origin_server_ts: 10 });
  });

  it('keeps the later event of a (room, user) whatever the arrival order', () => {
    const older = observed({ id: '$old', origin_server_ts: 10, displayname: 'Old' });
    const newer = observed({ id: '$new', origin_server_ts: 20, displayname: 'New', replaces_state: '$old' });
    for (const order of [
      [older, newer],
      [newer, older],
    ]) {
      const fold = foldObservedMemberships(
        new Map(),
        order.map((entry, index) => ({ offset: index, entry })),
      );
      expect(fold.memberships.map((change) => change.eventId)).toEqual(['$new']);
    }
  });

  it('follows replaces_state even against the clock', () => {
    const stored = new Map([[JSON.stringify(['!r:hs', '@a:hs']), { eventId: '$join', originServerTs: 50 }]]);
    const leave = observed({ id: '$leave', membership: 'leave', origin_server_ts: 40, replaces_state: '$join', displayname: 'x' });
    const fold = foldObservedMemberships(stored, [{ offset: 7, entry: leave }]);
    expect(fold.memberships.map((change) => [change.eventId, change.membership])).toEqual([['$leave', 'leave']]);
  });
});

describe('observed profile fields (profile topic)', () => {
  const parsedMember = (content: Record<string, unknown>, membership = 'join') =>
    parseAppserviceTransaction({
      events: [
        {
          type: 'm.room.member',
          event_id: '$m',
          room_id: '!r:hs',
          state_key: '@b:other',
          sender: '@b:other',
          origin_server_ts: 42,
          content: { membership, ...content },
        },
      ],
    }).memberships[0]!;

  it('the writer turns a join’s displayname / avatar_url (null clears) into profile.field.observed entries, a leave into none', () => {
    const entries = observedFieldEntries(parsedMember({ displayname: 'Bob', avatar_url: null }));
    expect(entries).toEqual([
      {
        v: 1,
        id: '$m/displayname',
        type: 'profile.field.observed',
        user_id: '@b:other',
        field: 'displayname',
        value: 'Bob',
        ts: 42,
        event_id: '$m',
        room_id: '!r:hs',
      },
      {
        v: 1,
        id: '$m/avatar_url',
        type: 'profile.field.observed',
        user_id: '@b:other',
        field: 'avatar_url',
        value: null,
        ts: 42,
        event_id: '$m',
        room_id: '!r:hs',
      },
    ]);
    for (const entry of entries) expect(decodeProfileTopicEvent(encodeProfileTopicEvent(entry))).toEqual(entry);
    expect(observedFieldEntries(parsedMember({}))).toEqual([]);
    expect(observedFieldEntries(parsedMember({ displayname: 'Bob' }, 'leave'))).toEqual([]);
  });

  it('decodes the profile topic’s other events as before, and refuses malformed observed ones', () => {
    const set = { v: 1, id: 'u', type: 'profile.field.set', user_id: '@a:hs', field: 'm.tz', value: 'UTC', ts: 1 };
    expect(decodeProfileTopicEvent(bytes(set))).toEqual(set);
    const good = {
      v: 1,
      id: '$m/displayname',
      type: 'profile.field.observed',
      user_id: '@a:hs',
      field: 'displayname',
      value: 'A',
      ts: 1,
      event_id: '$m',
      room_id: '!r:hs',
    };
    for (const change of [{ field: 'm.tz' }, { value: 3 }, { ts: 'now' }, { event_id: undefined }, { v: 2 }])
      expect(() => decodeProfileTopicEvent(bytes({ ...good, ...change }))).toThrow(UndecodableEventError);
    // The standalone decoder keeps refusing what it never knew.
    expect(() => decodeProfileEvent(bytes(good))).toThrow(UndecodableEventError);
  });

  it('keeps the latest value per (user, field) by origin_server_ts, whatever the log order', () => {
    const entry = (id: string, field: 'displayname' | 'avatar_url', value: string | null, ts: number): ProfileFieldObserved => ({
      v: 1,
      id,
      type: 'profile.field.observed',
      user_id: '@a:hs',
      field,
      value,
      ts,
      event_id: id,
      room_id: '!r:hs',
    });
    expect(
      latestObservedFields([
        { offset: 1, entry: entry('$b', 'displayname', 'Later', 30) },
        { offset: 2, entry: entry('$a', 'displayname', 'Earlier', 20) },
        { offset: 3, entry: entry('$c', 'avatar_url', null, 20) },
        { offset: 4, entry: entry('$b', 'displayname', 'Later', 30) },
      ]),
    ).toEqual([
      { userId: '@a:hs', field: 'displayname', isSet: true, value: 'Later', offset: 1, ts: 30 },
      { userId: '@a:hs', field: 'avatar_url', isSet: false, value: null, offset: 3, ts: 20 },
    ]);
  });
});

describe('the homeserver token check', () => {
  const status = (authorization: string | undefined) => {
    try {
      checkHomeserverToken(authorization, 'hs_secret_token_0123456789');
      return 200;
    } catch (error) {
      return error instanceof MatrixError ? `${error.status} ${error.errcode}` : 'thrown';
    }
  };

  it('accepts the hs_token, refuses another with 403 and none with 401', () => {
    expect(status('Bearer hs_secret_token_0123456789')).toBe(200);
    expect(status('Bearer hs_secret_token_012345678X')).toBe('403 M_FORBIDDEN');
    expect(status('Bearer short')).toBe('403 M_FORBIDDEN');
    expect(status(undefined)).toBe('401 M_UNAUTHORIZED');
    expect(status('Basic abc')).toBe('401 M_UNAUTHORIZED');
  });
});

describe('companion configuration', () => {
  const tokens = { MX_APPSERVICE_HS_TOKEN: 'h'.repeat(20), MX_APPSERVICE_AS_TOKEN: 'a'.repeat(20) };

  it('is standalone by default, without appservice tokens', () => {
    const config = loadAppConfig({}, { httpPort: 1 });
    expect(config.mode).toBe('standalone');
    expect(config.appservice).toBeUndefined();
  });

  it('requires both appservice tokens in companion mode', () => {
    expect(() => loadAppConfig({ MX_MODE: 'companion', MX_UPSTREAM_URL: 'http://hs:8008' }, { httpPort: 1 })).toThrow(
      ConfigValidationError,
    );
    const config = loadAppConfig({ MX_MODE: 'companion', MX_UPSTREAM_URL: 'http://hs:8008', ...tokens }, { httpPort: 1 });
    expect(config.appservice).toEqual({ hsToken: tokens.MX_APPSERVICE_HS_TOKEN, asToken: tokens.MX_APPSERVICE_AS_TOKEN });
  });
});

describe('the routers and the Application Service API', () => {
  it('send /_matrix/app/ nowhere (404): the homeserver calls the writer’s port directly', () => {
    for (const file of ['deploy/local/nginx/nginx.conf.template', 'deploy/docker/nginx.conf']) {
      const locations = nginxLocations(readFileSync(join(import.meta.dirname, '..', '..', file), 'utf8'));
      for (const path of ['/_matrix/app/v1/transactions/1', '/_matrix/app/v1/ping', '/_matrix/app/unstable/thirdparty/protocol/x'])
        expect(nginxTarget(locations, path), `${file} ${path}`).toBe('return 404');
      expect(nginxTarget(locations, '/_matrix/client/v3/profile/@a:hs/m.tz'), file).toBe('writer');
    }
  });
});
