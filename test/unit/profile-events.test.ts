import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeProfileEvent, encodeProfileEvent, type ProfileEvent, UndecodableEventError } from '@mx/events';
import { collapseProfileEvents } from '../../apps/projector/src/profile/profile-field-change.js';

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

describe('collapseProfileEvents', () => {
  it('keeps only the last change of each (user, field), as a fold over the log would', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        const changes = collapseProfileEvents(events.map((value, offset) => ({ offset, event: value })));
        const truth = new Map<string, { isSet: boolean; value: unknown; offset: number }>();
        events.forEach((value, offset) =>
          truth.set(`${value.user_id}|${value.field}`, {
            isSet: value.type === 'profile.field.set',
            value: value.type === 'profile.field.set' ? value.value : null,
            offset,
          }),
        );
        expect(changes).toHaveLength(truth.size);
        for (const change of changes)
          expect(truth.get(`${change.userId}|${change.field}`)).toEqual({
            isSet: change.isSet,
            value: change.value,
            offset: change.offset,
          });
      }),
    );
  });
});
