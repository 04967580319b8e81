import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeCompanionSyncToken,
  encodeCompanionSyncToken,
  parseAppserviceTransaction,
  supersedes,
  type KnownMembership,
  type MembershipFact,
} from '@mx/companion';
import { MalformedSyncTokenError } from '@mx/sync';

/** A Synapse 1.163 /sync token as seen on the local Synapse (14 fields joined by `_`). */
const SYNAPSE_TOKEN = 's72_1_0_5_3_1_1_4_0_1_0_0_0_0';

describe('companion sync tokens', () => {
  const positions = { epoch: 'abc123', profile: [0, 5, 36], membership: [7] };

  it('carries the project positions and the homeserver token unchanged', () => {
    const token = encodeCompanionSyncToken(positions, SYNAPSE_TOKEN);
    expect(token).toBe(`mc1_abc123_0.5.10_7_${SYNAPSE_TOKEN}`);
    expect(decodeCompanionSyncToken(token)).toEqual({ positions, homeserver: SYNAPSE_TOKEN });
  });

  it('takes a plain homeserver token as one with no project positions', () => {
    expect(decodeCompanionSyncToken(SYNAPSE_TOKEN)).toEqual({ positions: undefined, homeserver: SYNAPSE_TOKEN });
    // Synapse's multi-writer room positions start with `m<digits>~`, never `mc1_`.
    expect(decodeCompanionSyncToken('m12~1.13_4_5').positions).toBeUndefined();
  });

  it('refuses a token that claims to be ours but is cut or bent', () => {
    for (const bad of ['mc1_', 'mc1_abc123_0_7', 'mc1_abc123_0_7_', 'mc1_ABC_0_7_s1', 'mc1_abc123_x-y_7_s1', '']) {
      expect(() => decodeCompanionSyncToken(bad), bad).toThrow(MalformedSyncTokenError);
    }
  });

  it('round-trips any positions and any homeserver token (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]{1,32}$/),
        fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        fc.string({ minLength: 1, maxLength: 80 }),
        (epoch, profile, membership, homeserver) => {
          const decoded = decodeCompanionSyncToken(encodeCompanionSyncToken({ epoch, profile, membership }, homeserver));
          expect(decoded).toEqual({ positions: { epoch, profile, membership }, homeserver });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('appservice transactions', () => {
  const member = (overrides: Record<string, unknown> = {}, content: Record<string, unknown> = { membership: 'join' }) => ({
    type: 'm.room.member',
    event_id: '$e1',
    room_id: '!r:hs',
    state_key: '@a:hs',
    sender: '@a:hs',
    origin_server_ts: 1000,
    content,
    ...overrides,
  });

  it('keeps member events as observed memberships with their profile and the state they replaced', () => {
    const parsed = parseAppserviceTransaction({
      events: [
        member({ unsigned: { replaces_state: '$e0', age: 5 } }, { membership: 'join', displayname: 'Alice', avatar_url: 'mxc://hs/a' }),
        { type: 'm.room.message', event_id: '$m', room_id: '!r:hs', sender: '@a:hs', content: { body: 'hi' } },
        member({ event_id: '$e2', state_key: '@b:remote.example' }, { membership: 'leave', displayname: null }),
      ],
    });
    expect(parsed.ignored).toBe(1);
    expect(parsed.malformed).toEqual([]);
    expect(parsed.memberships).toEqual([
      {
        eventId: '$e1',
        roomId: '!r:hs',
        userId: '@a:hs',
        sender: '@a:hs',
        membership: 'join',
        originServerTs: 1000,
        replacesState: '$e0',
        displayname: 'Alice',
        avatarUrl: 'mxc://hs/a',
      },
      {
        eventId: '$e2',
        roomId: '!r:hs',
        userId: '@b:remote.example',
        sender: '@a:hs',
        membership: 'leave',
        originServerTs: 1000,
        replacesState: undefined,
        displayname: null,
        avatarUrl: undefined,
      },
    ]);
  });

  it('refuses malformed member events one by one and keeps the rest', () => {
    const parsed = parseAppserviceTransaction({
      events: [
        member({ state_key: 'not-a-user' }),
        member({ event_id: undefined }),
        member({}, { membership: 'dance' }),
        member({ origin_server_ts: '1' }),
        member({}, { membership: 'join', displayname: 'a\u0000b' }),
        member({ event_id: '$ok' }),
      ],
    });
    expect(parsed.memberships.map((m) => m.eventId)).toEqual(['$ok']);
    expect(parsed.malformed.map((m) => m.reason)).toEqual([
      'state_key is not a user ID',
      'no event_id',
      'no known membership',
      'no origin_server_ts',
      'holds what cannot be stored: $.content.displayname contains a NUL character',
    ]);
  });

  it('throws on a body that is not a transaction', () => {
    for (const body of [null, [], {}, { events: {} }, 'x']) expect(() => parseAppserviceTransaction(body)).toThrow(TypeError);
  });
});

describe('which member event is current', () => {
  const known = (eventId: string, originServerTs: number): KnownMembership => ({ eventId, originServerTs });
  const fact = (eventId: string, originServerTs: number, replacesState?: string): MembershipFact => ({
    eventId,
    originServerTs,
    replacesState,
  });

  it('applies the first fact, never the same event twice, a direct successor, and otherwise the later one', () => {
    expect(supersedes(undefined, fact('$1', 10))).toBe(true);
    expect(supersedes(known('$1', 10), fact('$1', 10))).toBe(false);
    expect(supersedes(known('$1', 10), fact('$2', 5, '$1'))).toBe(true);
    expect(supersedes(known('$5', 50), fact('$2', 20, '$1'))).toBe(false);
    expect(supersedes(known('$5', 50), fact('$6', 60, '$4'))).toBe(true);
    expect(supersedes(known('$5', 50), fact('$x', 50))).toBe(false);
  });

  it('ends on the latest event of a room whatever order the snapshot and the feed arrive in (property)', () => {
    // A chain of member events of one (room, user), each replacing the previous, timestamps rising.
    const chain = fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 12 }).map((gaps) => {
      let ts = 0;
      return gaps.map((gap, index) => {
        ts += gap;
        return fact(`$${index}`, ts, index === 0 ? undefined : `$${index - 1}`);
      });
    });
    fc.assert(
      fc.property(
        chain.chain((events) =>
          fc.tuple(
            fc.constant(events),
            fc.integer({ min: 0, max: events.length - 1 }),
            fc.integer({ min: 0, max: events.length }),
            fc.integer({ min: 0, max: events.length }),
          ),
        ),
        ([events, snapshotOf, snapshotAt, feedFrom]) => {
          // The feed delivers a suffix of the chain in room order (a history replay starts at 0; a
          // project installed later starts mid-way); the snapshot of some event lands anywhere in it.
          const feed = events.slice(Math.min(feedFrom, snapshotOf + 1));
          const arrivals = [...feed];
          arrivals.splice(Math.min(snapshotAt, arrivals.length), 0, { ...events[snapshotOf]!, replacesState: undefined });
          let current: KnownMembership | undefined;
          for (const next of arrivals) if (supersedes(current, next)) current = next;
          expect(current?.eventId).toBe(events[events.length - 1]!.eventId);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
