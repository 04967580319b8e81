import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeProfileEvent, encodeProfileEvent, type ProfileEvent, UndecodableEventError } from '@mx/events';
import { canonicalJsonByteLength } from '@mx/matrix';
import { foldProfileEvents, ProfileSize } from '@mx/profile';

const event = fc.oneof(
  fc.record({
    v: fc.constant(1 as const),
    id: fc.uuid(),
    type: fc.constant('profile.field.set' as const),
    user_id: fc.constantFrom('@a:hs', '@b:hs'),
    field: fc.constantFrom('m.tz', 'displayname', 'm.status'),
    value: fc.jsonValue(),
    ts: fc.nat(),
  }),
  fc.record({
    v: fc.constant(1 as const),
    id: fc.uuid(),
    type: fc.constant('profile.field.deleted' as const),
    user_id: fc.constantFrom('@a:hs', '@b:hs'),
    field: fc.constantFrom('m.tz', 'displayname', 'm.status'),
    ts: fc.nat(),
  }),
);

describe('profile event codec', () => {
  it('round-trips every event, a literal null value included', () => {
    fc.assert(
      fc.property(event, (value) => {
        expect(decodeProfileEvent(encodeProfileEvent(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
    const withNull: ProfileEvent = { v: 1, id: 'x', type: 'profile.field.set', user_id: '@a:hs', field: 'k', value: null, ts: 1 };
    expect(decodeProfileEvent(encodeProfileEvent(withNull))).toEqual(withNull);
  });

  it('refuses unknown versions, unknown types and corrupt bytes', () => {
    const bad = [
      null,
      Buffer.from('not json'),
      Buffer.from('[]'),
      Buffer.from('{"v":2}'),
      Buffer.from('{"v":1,"id":"x","type":"nope","user_id":"@a:b","field":"f","ts":1}'),
      Buffer.from('{"v":1,"id":"x","type":"profile.field.set","user_id":"@a:b","field":"f","ts":1}'),
    ];
    for (const bytes of bad) expect(() => decodeProfileEvent(bytes)).toThrow(UndecodableEventError);
  });
});

describe('foldProfileEvents', () => {
  it('keeps the last accepted change of each (user, field) and enforces the size limit exactly as a sequential model does', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), fc.integer({ min: 2, max: 400 }), (events, maxBytes) => {
        const fold = foldProfileEvents(
          new Map(),
          events.map((value, offset) => ({ offset, event: value })),
          maxBytes,
        );
        // The model: apply one event at a time, measuring the whole profile as canonical JSON.
        const profiles = new Map<string, Record<string, unknown>>();
        const truth = new Map<string, { isSet: boolean; value: unknown; offset: number }>();
        const rejected: string[] = [];
        events.forEach((value, offset) => {
          const profile = profiles.get(value.user_id) ?? {};
          if (value.type === 'profile.field.set') {
            const next = { ...profile, [value.field]: value.value };
            if (canonicalJsonByteLength(next) > maxBytes) {
              rejected.push(value.id);
              return;
            }
            profiles.set(value.user_id, next);
          } else {
            const { [value.field]: _removed, ...rest } = profile;
            profiles.set(value.user_id, rest);
          }
          truth.set(`${value.user_id}|${value.field}`, {
            isSet: value.type === 'profile.field.set',
            value: value.type === 'profile.field.set' ? value.value : null,
            offset,
          });
        });
        expect(fold.rejected.map((rejection) => rejection.eventId)).toEqual(rejected);
        expect(fold.changes).toHaveLength(truth.size);
        for (const change of fold.changes) {
          expect(truth.get(`${change.userId}|${change.field}`)).toEqual({
            isSet: change.isSet,
            value: change.value,
            offset: change.offset,
          });
        }
      }),
    );
  });

  it('counts the profile that is already stored', () => {
    const current = new Map([['@a:hs', new Map<string, unknown>([['big', 'x'.repeat(50)]])]]);
    const set = (id: string, value: string): ProfileEvent => ({
      v: 1,
      id,
      type: 'profile.field.set',
      user_id: '@a:hs',
      field: 'm.tz',
      value,
      ts: 0,
    });
    const fold = foldProfileEvents(
      current,
      [
        { offset: 0, event: set('e1', 'y'.repeat(40)) },
        { offset: 1, event: set('e2', 'UTC') },
      ],
      80,
    );
    expect(fold.rejected).toEqual([{ eventId: 'e1', offset: 0, reason: 'profile_too_large' }]);
    expect(fold.changes.map((change) => change.value)).toEqual(['UTC']);
  });
});

describe('ProfileSize', () => {
  it('equals the canonical JSON length of the profile after any sequence of sets and deletes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'é', 'm.tz'), fc.option(fc.jsonValue(), { nil: undefined }))), (steps) => {
        const size = new ProfileSize();
        const profile = new Map<string, unknown>();
        const asObject = () => Object.fromEntries(profile);
        for (const [field, value] of steps) {
          if (value === undefined) {
            size.delete(field);
            profile.delete(field);
          } else {
            expect(size.bytesWith(field, value)).toBe(canonicalJsonByteLength({ ...asObject(), [field]: value }));
            size.set(field, value);
            profile.set(field, value);
          }
          expect(size.bytes).toBe(canonicalJsonByteLength(asObject()));
        }
      }),
    );
  });
});
