import { describe, expect, it } from 'vitest';
import { buildTimeline, strippedState, type SyncEvent } from '@mx/sync';

let counter = 0;
function event(type: string, stateKey: string, sender: string, content: Record<string, unknown> = {}): SyncEvent {
  counter += 1;
  return { event_id: `$e${counter}`, type, state_key: stateKey, sender, origin_server_ts: counter, content, unsigned: {} };
}
const member = (user: string, membership = 'join') => event('m.room.member', user, user, { membership });
const ids = (events: readonly SyncEvent[]) => events.map((one) => one.event_id);

describe('buildTimeline', () => {
  const create = event('m.room.create', '', '@a:hs');
  const alice = member('@a:hs');
  const bob = member('@b:hs');
  const carol = member('@c:hs');
  const name = event('m.room.name', '', '@a:hs', { name: 'Room' });
  const topic = event('m.room.topic', '', '@a:hs', { topic: 'hi' });

  it('keeps the whole window when within the limit, and sends as state only what the timeline lacks (full state)', () => {
    const window = [bob, name];
    const { timeline, state } = buildTimeline({
      window,
      currentState: [create, alice, bob, name],
      limit: 10,
      fullState: true,
      prevBatch: 't5',
    });
    expect(timeline).toEqual({ events: window, limited: false, prev_batch: 't5' });
    expect(ids(state.events)).toEqual(ids([create, alice]));
  });

  it('keeps the last `limit` events, marks the timeline limited, and sends the gap’s state keys (incremental)', () => {
    const window = [carol, topic, name];
    const { timeline, state } = buildTimeline({
      window,
      currentState: [create, alice, bob, carol, name, topic],
      limit: 1,
      fullState: false,
      prevBatch: 't0',
    });
    expect(ids(timeline.events)).toEqual(ids([name]));
    expect(timeline.limited).toBe(true);
    // The gap changed carol's membership and the topic: their current values, nothing else.
    expect(ids(state.events)).toEqual(ids([carol, topic]));
  });

  it('sends the current value of a gap key, not the gap’s event', () => {
    const oldTopic = event('m.room.topic', '', '@a:hs', { topic: 'old' });
    const { state } = buildTimeline({
      window: [oldTopic, name],
      currentState: [create, topic, name],
      limit: 1,
      fullState: false,
      prevBatch: 't0',
    });
    expect(ids(state.events)).toEqual(ids([topic]));
  });

  it('with limit 0 sends no timeline events, and the whole window as gap', () => {
    const { timeline, state } = buildTimeline({
      window: [name],
      currentState: [create, name],
      limit: 0,
      fullState: false,
      prevBatch: 't0',
    });
    expect(timeline.events).toEqual([]);
    expect(timeline.limited).toBe(true);
    expect(ids(state.events)).toEqual(ids([name]));
  });

  it('sends nothing as state for an incremental window without a gap', () => {
    const { timeline, state } = buildTimeline({
      window: [name],
      currentState: [create, alice, name],
      limit: 5,
      fullState: false,
      prevBatch: 't0',
    });
    expect(timeline.limited).toBe(false);
    expect(state.events).toEqual([]);
  });

  it('lazy-loading: member events only of the named users and the timeline’s senders', () => {
    const fromCarol = event('m.room.message', '', '@c:hs', { body: 'hi' });
    const { state } = buildTimeline({
      window: [fromCarol],
      currentState: [create, alice, bob, carol, name],
      limit: 10,
      fullState: true,
      lazyMembersFor: new Set(['@a:hs']),
      prevBatch: 't0',
    });
    expect(ids(state.events)).toEqual(ids([create, alice, carol, name]));
  });

  it('without lazy-loading, every member event', () => {
    const { state } = buildTimeline({ window: [], currentState: [alice, bob, carol], limit: 10, fullState: true, prevBatch: 't0' });
    expect(ids(state.events)).toEqual(ids([alice, bob, carol]));
  });
});

describe('strippedState', () => {
  it('keeps the room’s identity and the invite, stripped to type, state_key, sender and content', () => {
    const create = event('m.room.create', '', '@a:hs', { room_version: '11' });
    const joinRules = event('m.room.join_rules', '', '@a:hs', { join_rule: 'invite' });
    const name = event('m.room.name', '', '@a:hs', { name: 'Room' });
    const alias = event('m.room.canonical_alias', '', '@a:hs', { alias: '#r:hs' });
    const avatar = event('m.room.avatar', '', '@a:hs', { url: 'mxc://hs/x' });
    const encryption = event('m.room.encryption', '', '@a:hs', { algorithm: 'm.megolm.v1.aes-sha2' });
    const topic = event('m.room.topic', '', '@a:hs', { topic: 'secret' });
    const power = event('m.room.power_levels', '', '@a:hs', { users: {} });
    const alice = member('@a:hs');
    const invite = event('m.room.member', '@b:hs', '@a:hs', { membership: 'invite' });
    const stripped = strippedState([create, joinRules, name, alias, avatar, encryption, topic, power, alice, invite], invite);
    expect(stripped.map((one) => one.type)).toEqual([
      'm.room.create',
      'm.room.join_rules',
      'm.room.name',
      'm.room.canonical_alias',
      'm.room.avatar',
      'm.room.encryption',
      'm.room.member',
    ]);
    expect(stripped.at(-1)).toEqual({ type: 'm.room.member', state_key: '@b:hs', sender: '@a:hs', content: { membership: 'invite' } });
    for (const one of stripped) expect(Object.keys(one).sort()).toEqual(['content', 'sender', 'state_key', 'type']);
  });
});
