import { describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_PROFILE_TS,
  decodeSnapshotFile,
  encodeSnapshotFile,
  MalformedSnapshotFileError,
  memberSnapshotEntries,
  parseAppserviceTransaction,
  parseHomeserverProfile,
  parseRoomsPage,
  parseRoomState,
  parseUsersPage,
  profileDifferences,
  profilePath,
  profileSnapshotEntries,
  repairApplied,
  repairEntries,
  roomMemberStatePath,
  summarizeDifferences,
  supersedes,
  UnexpectedHomeserverAnswerError,
  memberObservedEntry,
  observedFieldEntries,
} from '@mx/companion';
import { decodeProfileTopicEvent, encodeProfileTopicEvent, UndecodableEventError } from '@mx/events';
import { latestObservedFields } from '../../apps/projector/src/profile/fold-observed-fields.js';
import { CommandExit, parseFlags, positiveIntegerFlag } from '../../apps/ops/src/companion-command-support.js';

const member = (overrides: Record<string, unknown> = {}) => ({
  type: 'm.room.member',
  event_id: '$join',
  room_id: '!r:hs',
  state_key: '@a:hs',
  sender: '@a:hs',
  origin_server_ts: 1000,
  content: { membership: 'join', displayname: 'Alice', avatar_url: 'mxc://hs/a' },
  unsigned: { age: 5 },
  ...overrides,
});

describe('admin API pages', () => {
  it('reads the rooms list and its next page, the users list (deactivated as 0/1 or a boolean) and its next token', () => {
    expect(parseRoomsPage({ rooms: [{ room_id: '!a:hs' }, { room_id: '!b:hs', name: 'x' }], total_rooms: 3, next_batch: 2 })).toEqual({
      roomIds: ['!a:hs', '!b:hs'],
      total: 3,
      next: '2',
    });
    expect(parseRoomsPage({ rooms: [], total_rooms: 0 }).next).toBeUndefined();
    expect(
      parseUsersPage({
        users: [
          { name: '@a:hs', deactivated: 0 },
          { name: '@b:hs', deactivated: true },
          { name: '@c:hs', deactivated: 1 },
        ],
        total: 3,
        next_token: '100',
      }),
    ).toEqual({
      users: [
        { userId: '@a:hs', deactivated: false },
        { userId: '@b:hs', deactivated: true },
        { userId: '@c:hs', deactivated: true },
      ],
      total: 3,
      next: '100',
    });
    expect(roomMemberStatePath('!a:hs')).toBe('/_synapse/admin/v1/rooms/!a%3Ahs/state?type=m.room.member');
    expect(profilePath('@a:hs')).toBe('/_matrix/client/v3/profile/%40a%3Ahs?user_id=%40a%3Ahs');
  });

  it('refuses answers of another shape with the request named, never an empty list', () => {
    const refused = (parse: () => unknown, message: RegExp) => {
      expect(parse).toThrow(UnexpectedHomeserverAnswerError);
      expect(parse).toThrow(message);
    };
    refused(() => parseRoomsPage({ errcode: 'M_FORBIDDEN' }), /GET \/_synapse\/admin\/v1\/rooms: no `rooms` array/);
    refused(() => parseRoomsPage({ rooms: [{ name: 'x' }], total_rooms: 1 }), /rooms\[0\] has no room_id/);
    refused(() => parseRoomsPage({ rooms: [], total_rooms: 0, next_batch: 'abc' }), /next_batch/);
    refused(() => parseUsersPage({ users: [{ name: 'not a user' }], total: 1 }), /users\[0\]/);
    refused(() => parseUsersPage({ users: [], total: -1 }), /total/);
    refused(() => parseRoomState('!a:hs', { events: [] }), /state/);
  });
});

describe('member snapshot: the same entries as the appservice feed', () => {
  it('maps a room’s member events exactly as the writer maps the same events from a transaction (ids, keys, stamps)', () => {
    const events = [
      member(),
      member({ event_id: '$leave', state_key: '@b:hs', sender: '@b:hs', content: { membership: 'leave' } }),
      member({ event_id: '$inv', state_key: '@c:remote', content: { membership: 'invite', displayname: null } }),
      member({ event_id: '$rename', origin_server_ts: 2000, unsigned: { replaces_state: '$old' } }),
      { type: 'm.room.create', event_id: '$create', room_id: '!r:hs', state_key: '', sender: '@a:hs', content: {} },
    ];
    const snapshot = memberSnapshotEntries('!r:hs', events);
    const feed = parseAppserviceTransaction({ events }).memberships;
    expect(snapshot.memberships).toEqual(feed.map(memberObservedEntry));
    expect(snapshot.fields).toEqual(feed.flatMap(observedFieldEntries));
    expect(snapshot.memberships.map((entry) => entry.id)).toEqual(['$join', '$leave', '$inv', '$rename']);
    expect(snapshot.fields.map((entry) => entry.id)).toEqual([
      '$join/displayname',
      '$join/avatar_url',
      '$inv/displayname',
      '$rename/displayname',
      '$rename/avatar_url',
    ]);
    expect(snapshot.malformed).toEqual([]);
  });

  it('keeps only the room’s own member events and reports the malformed ones', () => {
    const snapshot = memberSnapshotEntries('!r:hs', [
      member({ room_id: '!other:hs' }),
      member({ event_id: '$bad', state_key: 'nobody' }),
      member({ event_id: '$ok' }),
    ]);
    expect(snapshot.memberships.map((entry) => entry.id)).toEqual(['$ok']);
    expect(snapshot.malformed).toEqual([
      { eventId: '$bad', reason: 'state_key is not a user ID' },
      { eventId: '$join', reason: 'belongs to !other:hs, not !r:hs' },
    ]);
  });

  it('never takes the place of a leave the feed observed after the snapshot was read (the race), but repairs a missed one', () => {
    const [join] = memberSnapshotEntries('!r:hs', [member()]).memberships;
    const leaveSeenLater = { eventId: '$leave', originServerTs: 1500 };
    expect(supersedes(leaveSeenLater, { eventId: join!.id, originServerTs: join!.origin_server_ts })).toBe(false);
    expect(supersedes({ eventId: '$join', originServerTs: 1000 }, { eventId: join!.id, originServerTs: 1000 })).toBe(false);
    expect(supersedes({ eventId: '$older', originServerTs: 500 }, { eventId: join!.id, originServerTs: 1000 })).toBe(true);
  });
});

describe('profile snapshot of local users', () => {
  it('reads GET /profile (custom fields included), leaves out null values and reports keys it cannot store', () => {
    const profile = parseHomeserverProfile('@a:hs', {
      displayname: 'Alice',
      avatar_url: null,
      'm.tz': 'Europe/Paris',
      'com.example.card': { b: [1, 2], a: 'x' },
      'Not A Key': 1,
      'com.example.nul': 'a\u0000b',
    });
    expect([...profile.fields]).toEqual([
      ['com.example.card', { b: [1, 2], a: 'x' }],
      ['displayname', 'Alice'],
      ['m.tz', 'Europe/Paris'],
    ]);
    expect(profile.skipped.map((skipped) => skipped.field)).toEqual(['Not A Key', 'com.example.nul']);
    expect(() => parseHomeserverProfile('@a:hs', ['x'])).toThrow(UnexpectedHomeserverAnswerError);
  });

  it('stamps every entry with the bootstrap ts (0), with ids that a re-run repeats and the projector decodes', () => {
    const profile = parseHomeserverProfile('@a:hs', { displayname: 'Alice', 'm.status': { text: 'away' } });
    const entries = profileSnapshotEntries('@a:hs', profile);
    expect(entries.map((entry) => [entry.field, entry.ts])).toEqual([
      ['displayname', BOOTSTRAP_PROFILE_TS],
      ['m.status', BOOTSTRAP_PROFILE_TS],
    ]);
    expect(BOOTSTRAP_PROFILE_TS).toBe(0);
    expect(profileSnapshotEntries('@a:hs', profile).map((entry) => entry.id)).toEqual(entries.map((entry) => entry.id));
    const changed = profileSnapshotEntries('@a:hs', parseHomeserverProfile('@a:hs', { displayname: 'Alice', 'm.status': 'x' }));
    expect(changed[1]!.id).not.toBe(entries[1]!.id);
    for (const entry of entries) expect(decodeProfileTopicEvent(encodeProfileTopicEvent(entry))).toEqual(entry);
  });

  it('fills only what the projection never heard of: in one batch and against any stored value (updated_ts >= 0)', () => {
    const [snapshot] = profileSnapshotEntries('@a:hs', parseHomeserverProfile('@a:hs', { 'm.tz': 'Europe/Paris' }));
    const feed = { ...snapshot!, id: '$e/m.tz', ts: 5, value: 'Asia/Tokyo' };
    // In one batch, whichever order: the stamped value wins over the snapshot.
    for (const order of [
      [snapshot!, feed],
      [feed, snapshot!],
    ]) {
      const latest = latestObservedFields(order.map((entry, offset) => ({ offset, entry })));
      expect(latest.map((change) => change.value)).toEqual(['Asia/Tokyo']);
    }
    // Against the store: upsertObserved keeps the stored value unless `stored.updated_ts < entry.ts`; every stored ts is >= 0.
    for (const storedTs of [0, 1, Date.now()]) expect(storedTs < snapshot!.ts).toBe(false);
  });

  it('decodes a profile read only with a valid key and a value; a member-event entry still needs both event_id and room_id', () => {
    const read = { v: 1, id: 'bootstrap:x', type: 'profile.field.observed', user_id: '@a:hs', field: 'm.tz', value: 'UTC', ts: 0 };
    const bytes = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
    expect(decodeProfileTopicEvent(bytes(read))).toEqual(read);
    expect(() => decodeProfileTopicEvent(bytes({ ...read, field: 'Bad Key' }))).toThrow(UndecodableEventError);
    const { value: _value, ...noValue } = read;
    expect(() => decodeProfileTopicEvent(bytes(noValue))).toThrow(UndecodableEventError);
    expect(() => decodeProfileTopicEvent(bytes({ ...read, ts: 'soon' }))).toThrow(UndecodableEventError);
    expect(() => decodeProfileTopicEvent(bytes({ ...read, event_id: '$e' }))).toThrow(UndecodableEventError);
    expect(() => decodeProfileTopicEvent(bytes({ ...read, field: 'm.tz', event_id: '$e', room_id: '!r:hs' }))).toThrow(
      UndecodableEventError,
    );
  });
});

describe('verify: differences and repairs', () => {
  const stored = (field: string, value: unknown, updatedTs = 10, isSet = value !== null) => ({ field, value, isSet, updatedTs });

  it('finds missing, extra and different fields; equal JSON in another key order and null-as-unset are no difference', () => {
    const homeserver = new Map<string, unknown>([
      ['displayname', 'Alice'],
      ['m.status', { text: 'busy', emoji: 'x' }],
      ['com.example.a', 1],
      ['m.tz', 'UTC'],
    ]);
    const differences = profileDifferences(
      '@a:hs',
      homeserver,
      [
        stored('displayname', 'Alice'),
        stored('m.status', { emoji: 'x', text: 'busy' }),
        stored('com.example.a', 2),
        stored('com.example.gone', 'old'),
        stored('avatar_url', null),
      ],
      100,
    );
    expect(differences.map((difference) => [difference.field, difference.kind, difference.homeserver, difference.projection])).toEqual([
      ['com.example.a', 'different', 1, 2],
      ['com.example.gone', 'extra', null, 'old'],
      ['m.tz', 'missing', 'UTC', null],
    ]);
    expect(summarizeDifferences(differences)).toBe('3 (missing 1, extra 1, different 1; 0 changed during verify)');
  });

  it('repairs with the time the read began, leaves a value that changed during the read alone, and sees when the repair shows', () => {
    const differences = profileDifferences(
      '@a:hs',
      new Map<string, unknown>([
        ['m.tz', 'UTC'],
        ['m.status', 'here'],
      ]),
      [stored('m.tz', 'Europe/Paris', 50), stored('m.status', 'racing', 100), stored('com.example.x', 'x', 60)],
      100,
    );
    expect(differences.map((difference) => [difference.field, difference.changedDuringRead])).toEqual([
      ['com.example.x', false],
      ['m.status', true],
      ['m.tz', false],
    ]);
    const repairs = repairEntries(differences, 100);
    expect(repairs.map((entry) => [entry.field, entry.value, entry.ts])).toEqual([
      ['com.example.x', null, 100],
      ['m.tz', 'UTC', 100],
    ]);
    for (const entry of repairs) expect(decodeProfileTopicEvent(encodeProfileTopicEvent(entry))).toEqual(entry);
    const [removal, timezone] = repairs;
    expect(repairApplied(timezone!, stored('m.tz', 'Europe/Paris', 50))).toBe(false);
    expect(repairApplied(timezone!, stored('m.tz', 'UTC', 100))).toBe(true);
    expect(repairApplied(timezone!, stored('m.tz', 'Asia/Tokyo', 101))).toBe(true);
    expect(repairApplied(removal!, stored('com.example.x', 'x', 60))).toBe(false);
    expect(repairApplied(removal!, stored('com.example.x', null, 100, false))).toBe(true);
    expect(repairApplied(removal!, undefined)).toBe(true);
  });
});

describe('snapshot file and flags', () => {
  it('round-trips a snapshot and refuses other files with the reason', () => {
    const snapshot = {
      homeserver: 'http://hs',
      readAt: 1234,
      rooms: [{ roomId: '!r:hs', memberEvents: [member()] }],
      users: [{ userId: '@a:hs', profile: { displayname: 'Alice' } }],
    };
    expect(decodeSnapshotFile(encodeSnapshotFile(snapshot))).toEqual(snapshot);
    expect(() => decodeSnapshotFile('{')).toThrow(MalformedSnapshotFileError);
    expect(() => decodeSnapshotFile('{"format":"other"}')).toThrow(/format/);
    const wrongUser = encodeSnapshotFile({ ...snapshot, users: [{ userId: 'nobody', profile: {} }] });
    expect(() => decodeSnapshotFile(wrongUser)).toThrow(/users\[0\]/);
  });

  it('parses flags; unknown flags, missing values and bad numbers are usage errors (exit 64)', () => {
    const spec = { valued: ['max-items', 'admin-token'], switches: ['restart'] };
    const flags = parseFlags('c', ['--restart', '--max-items', '3', '--admin-token=t'], spec);
    expect([...flags]).toEqual([
      ['restart', true],
      ['max-items', '3'],
      ['admin-token', 't'],
    ]);
    expect(positiveIntegerFlag('c', flags, 'max-items', undefined)).toBe(3);
    for (const args of [['--nope'], ['--max-items'], ['stray'], ['--restart=yes']]) {
      const parse = () => parseFlags('c', args, spec);
      expect(parse).toThrow(CommandExit);
      try {
        parse();
      } catch (error) {
        expect((error as CommandExit).exitCode).toBe(64);
      }
    }
    expect(() => positiveIntegerFlag('c', new Map([['max-items', '0']]), 'max-items', undefined)).toThrow(/positive integer/);
  });
});
