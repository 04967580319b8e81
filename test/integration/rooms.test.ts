import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_V3, expectMatrixError, expectStatus, extraWriter, profilePath } from '../support/accounts.js';
import { type MatrixResponse, type TestUser, registerUser, request, uniqueLocalpart } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';
import {
  type Content,
  type Via,
  createRoom,
  createRoomOk,
  expectWellFormed,
  forgetRoom,
  getJoinedMembers,
  getState,
  joinRoom,
  joinRoomById,
  joinedMembers,
  joinedRooms,
  leaveRoom,
  membershipAction,
  membershipOf,
  roomPost,
  stateContent,
} from '../support/rooms.js';

/**
 * Rooms and membership through the router: createRoom (presets, aliases, invites, versions and
 * errors), join / leave / invite / kick / ban / unban / forget and their rules, the membership
 * reads, displayname and avatar propagation into member events, and conflicting membership
 * commands sent concurrently through two writers. The writer answers after the projection
 * applied the change, so every read right after a 200 must see it. Each test uses fresh users
 * and rooms.
 */
const SERVER = 'test.local';

/** `count` fresh users, registered concurrently. */
function users(count: 1, prefix?: string): Promise<[TestUser]>;
function users(count: 2, prefix?: string): Promise<[TestUser, TestUser]>;
function users(count: 3, prefix?: string): Promise<[TestUser, TestUser, TestUser]>;
function users(count: number, prefix?: string): Promise<TestUser[]>;
function users(count: number, prefix = 'room'): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: count }, () => registerUser(prefix)));
}

async function expectOk(response: MatrixResponse<unknown> | Promise<MatrixResponse<unknown>>, body?: unknown): Promise<void> {
  const resolved = await response;
  expectStatus(resolved, 200);
  if (body !== undefined) expect(resolved.body).toEqual(body);
}

async function setProfileField(user: TestUser, key: string, value: unknown): Promise<void> {
  const response = await request('PUT', profilePath(user.userId, key), { token: user.accessToken, body: { [key]: value } });
  expectStatus(response, 200);
}

/** A public room created by `owner`, joined by each of `members`. */
async function publicRoomWith(owner: TestUser, members: TestUser[], extra: Content = {}): Promise<string> {
  const roomId = await createRoomOk(owner, { preset: 'public_chat', ...extra });
  for (const member of members) await expectOk(joinRoomById(member, roomId), { room_id: roomId });
  return roomId;
}

describe('createRoom', () => {
  it('creates a private room by default with the creator joined and the initial state', async () => {
    const [alice] = await users(1, 'alice');
    const response = await createRoom(alice, {});
    expectStatus(response, 200);
    const roomId = response.body.room_id;
    expect(roomId).toMatch(/^![^:]+:test\.local$/);
    expect(response.body).not.toHaveProperty('room_alias');

    expect(await stateContent(alice, roomId, 'm.room.create')).toMatchObject({ creator: alice.userId, room_version: '11' });
    expect(await stateContent(alice, roomId, 'm.room.member', alice.userId)).toMatchObject({ membership: 'join' });
    const powerLevels = await stateContent(alice, roomId, 'm.room.power_levels');
    expect(powerLevels).toMatchObject({ users: { [alice.userId]: 100 }, ban: 50, kick: 50, invite: 0 });
    expect(powerLevels['users']).toEqual({ [alice.userId]: 100 });
    expect(await stateContent(alice, roomId, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
    expect(await stateContent(alice, roomId, 'm.room.history_visibility')).toEqual({ history_visibility: 'shared' });
    expect(await stateContent(alice, roomId, 'm.room.guest_access')).toEqual({ guest_access: 'can_join' });
    expectMatrixError(await getState(alice, roomId, 'm.room.name'), 404, 'M_NOT_FOUND');
    expectMatrixError(await getState(alice, roomId, 'm.room.canonical_alias'), 404, 'M_NOT_FOUND');

    expect(await joinedRooms(alice)).toContain(roomId);
    expect(await joinedMembers(alice, roomId)).toEqual({ [alice.userId]: {} });
  });

  it('creates a public room from visibility public, with a name and an alias', async () => {
    const [alice] = await users(1, 'alice');
    const aliasName = uniqueLocalpart('pub');
    const response = await createRoom(alice, { visibility: 'public', name: 'The Garden', room_alias_name: aliasName });
    expectStatus(response, 200);
    const roomId = response.body.room_id;
    expect(response.body.room_alias).toBe(`#${aliasName}:${SERVER}`);
    expect(await stateContent(alice, roomId, 'm.room.join_rules')).toEqual({ join_rule: 'public' });
    expect(await stateContent(alice, roomId, 'm.room.history_visibility')).toEqual({ history_visibility: 'shared' });
    expect(await stateContent(alice, roomId, 'm.room.guest_access')).toEqual({ guest_access: 'forbidden' });
    expect(await stateContent(alice, roomId, 'm.room.name')).toEqual({ name: 'The Garden' });
    expect(await stateContent(alice, roomId, 'm.room.canonical_alias')).toMatchObject({ alias: `#${aliasName}:${SERVER}` });
  });

  it('honours an explicit preset over visibility', async () => {
    const [alice] = await users(1, 'alice');
    const publicByPreset = await createRoomOk(alice, { preset: 'public_chat' });
    expect(await stateContent(alice, publicByPreset, 'm.room.join_rules')).toEqual({ join_rule: 'public' });
    const privateByPreset = await createRoomOk(alice, { preset: 'private_chat', visibility: 'public' });
    expect(await stateContent(alice, privateByPreset, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
    const privateByVisibility = await createRoomOk(alice, { visibility: 'private' });
    expect(await stateContent(alice, privateByVisibility, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
  });

  it('creates a room of version 10 on request', async () => {
    const [alice] = await users(1, 'alice');
    const roomId = await createRoomOk(alice, { room_version: '10' });
    expect(await stateContent(alice, roomId, 'm.room.create')).toMatchObject({ creator: alice.userId, room_version: '10' });
  });

  it.each(['9999', '1', 'eleven'])('rejects room_version %j with 400 M_UNSUPPORTED_ROOM_VERSION', async (version) => {
    const [alice] = await users(1, 'alice');
    expectMatrixError(await createRoom(alice, { room_version: version }), 400, 'M_UNSUPPORTED_ROOM_VERSION');
  });

  it('rejects a taken alias with 400 M_ROOM_IN_USE and keeps the first room', async () => {
    const [alice, bob] = await users(2, 'alias');
    const aliasName = uniqueLocalpart('taken');
    const first = await createRoomOk(alice, { preset: 'public_chat', room_alias_name: aliasName });
    expectMatrixError(await createRoom(bob, { preset: 'public_chat', room_alias_name: aliasName }), 400, 'M_ROOM_IN_USE');
    expectMatrixError(await createRoom(alice, { room_alias_name: aliasName }), 400, 'M_ROOM_IN_USE');
    await expectOk(joinRoom(bob, `#${aliasName}:${SERVER}`), { room_id: first });
  });

  it.each(['not-a-user', '@:test.local', 'alice:test.local', '@bad user:test.local'])(
    'rejects the invitee %j with 400 M_INVALID_PARAM',
    async (invitee) => {
      const [alice] = await users(1, 'alice');
      expectMatrixError(await createRoom(alice, { invite: [invitee] }), 400, 'M_INVALID_PARAM');
    },
  );

  it.each([
    ['invite as a string', { invite: 'x' }],
    ['invite with a non-string', { invite: [5] }],
    ['name as a number', { name: 5 }],
    ['an unknown preset', { preset: 'nope' }],
    ['an unknown visibility', { visibility: 'secret' }],
    ['room_version as a number', { room_version: 11 }],
    ['is_direct as a string', { is_direct: 'yes' }],
  ])('rejects %s with 400 M_BAD_JSON', async (_label, body) => {
    const [alice] = await users(1, 'alice');
    expectMatrixError(await createRoom(alice, body), 400, 'M_BAD_JSON');
  });

  it('rejects a non-object body with 400 M_BAD_JSON (or M_NOT_JSON)', async () => {
    const [alice] = await users(1, 'alice');
    const response = await createRoom(alice, [1]);
    expectStatus(response, 400);
    expect(['M_BAD_JSON', 'M_NOT_JSON']).toContain((response.body as unknown as Content)['errcode']);
  });

  it('requires an access token', async () => {
    const response = await request('POST', `${CLIENT_V3}/createRoom`, { body: {} });
    expectMatrixError(response, 401, 'M_MISSING_TOKEN');
  });

  it('invites the listed users, marking is_direct on their member events', async () => {
    const [alice, bob, carol] = await users(3, 'inv');
    const roomId = await createRoomOk(alice, { invite: [bob.userId, carol.userId], is_direct: true });
    for (const invitee of [bob, carol]) {
      expect(await stateContent(alice, roomId, 'm.room.member', invitee.userId)).toMatchObject({ membership: 'invite', is_direct: true });
    }
    expect(await stateContent(alice, roomId, 'm.room.power_levels')).toMatchObject({ users: { [alice.userId]: 100 } });
    expect(((await stateContent(alice, roomId, 'm.room.power_levels'))['users'] as Content)[bob.userId]).toBeUndefined();
    expect(await joinedMembers(alice, roomId)).toEqual({ [alice.userId]: {} });
    expect(await joinedRooms(bob)).not.toContain(roomId);
  });

  it('does not mark invites as direct without is_direct', async () => {
    const [alice, bob] = await users(2, 'inv');
    const roomId = await createRoomOk(alice, { invite: [bob.userId] });
    const member = await stateContent(alice, roomId, 'm.room.member', bob.userId);
    expect(member['membership']).toBe('invite');
    expect(member['is_direct']).not.toBe(true);
  });

  it('gives invitees power level 100 in a trusted_private_chat', async () => {
    const [alice, bob] = await users(2, 'trust');
    const roomId = await createRoomOk(alice, { preset: 'trusted_private_chat', invite: [bob.userId] });
    expect(await stateContent(alice, roomId, 'm.room.power_levels')).toMatchObject({
      users: { [alice.userId]: 100, [bob.userId]: 100 },
    });
    expect(await stateContent(alice, roomId, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
    await expectOk(joinRoomById(bob, roomId));
    // At power level 100, the invitee may now kick another member (kick needs 50).
    const [carol] = await users(1, 'trust');
    await expectOk(membershipAction(alice, 'invite', roomId, carol.userId));
    await expectOk(joinRoomById(carol, roomId));
    await expectOk(membershipAction(bob, 'kick', roomId, carol.userId));
    expect(await membershipOf(alice, roomId, carol.userId)).toBe('leave');
  });

  it("puts the creator's displayname and avatar_url on the creator's member event", async () => {
    const [alice] = await users(1, 'alice');
    await setProfileField(alice, 'displayname', 'Alice Creator');
    await setProfileField(alice, 'avatar_url', 'mxc://test.local/creatorAvatar');
    const roomId = await createRoomOk(alice);
    expect(await stateContent(alice, roomId, 'm.room.member', alice.userId)).toMatchObject({
      membership: 'join',
      displayname: 'Alice Creator',
      avatar_url: 'mxc://test.local/creatorAvatar',
    });
    expect(await joinedMembers(alice, roomId)).toEqual({
      [alice.userId]: { display_name: 'Alice Creator', avatar_url: 'mxc://test.local/creatorAvatar' },
    });
  });

  it('lists every created room in /joined_rooms', async () => {
    const [alice] = await users(1, 'many');
    const created: string[] = [];
    for (let i = 0; i < 5; i += 1) created.push(await createRoomOk(alice, i % 2 === 0 ? { preset: 'public_chat' } : {}));
    expect(new Set(created).size).toBe(5);
    const listed = await joinedRooms(alice);
    expect([...listed].sort()).toEqual([...created].sort());
  });
});

describe('joining', () => {
  it('joins a public room through /join/{roomId} and /rooms/{roomId}/join', async () => {
    const [alice, bob, carol] = await users(3, 'join');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    await expectOk(joinRoom(bob, roomId), { room_id: roomId });
    await expectOk(joinRoomById(carol, roomId), { room_id: roomId });
    for (const member of [bob, carol]) {
      expect(await membershipOf(alice, roomId, member.userId)).toBe('join');
      expect(await joinedRooms(member)).toEqual([roomId]);
    }
    expect(Object.keys(await joinedMembers(bob, roomId)).sort()).toEqual([alice.userId, bob.userId, carol.userId].sort());
  });

  it('joins through an alias', async () => {
    const [alice, bob] = await users(2, 'join');
    const aliasName = uniqueLocalpart('alias');
    const roomId = await createRoomOk(alice, { preset: 'public_chat', room_alias_name: aliasName });
    await expectOk(joinRoom(bob, `#${aliasName}:${SERVER}`), { room_id: roomId });
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
  });

  it('answers an unknown room and an unknown alias with 404 M_NOT_FOUND', async () => {
    const [bob] = await users(1, 'join');
    expectMatrixError(await joinRoom(bob, `!${uniqueLocalpart('nope')}:${SERVER}`), 404, 'M_NOT_FOUND');
    expectMatrixError(await joinRoomById(bob, `!${uniqueLocalpart('nope')}:${SERVER}`), 404, 'M_NOT_FOUND');
    expectMatrixError(await joinRoom(bob, `#${uniqueLocalpart('nope')}:${SERVER}`), 404, 'M_NOT_FOUND');
    expect(await joinedRooms(bob)).toEqual([]);
  });

  it('forbids joining an invite-only room without an invite, and allows it with one', async () => {
    const [alice, bob] = await users(2, 'join');
    const roomId = await createRoomOk(alice, { preset: 'private_chat' });
    expectMatrixError(await joinRoomById(bob, roomId), 403, 'M_FORBIDDEN');
    expectMatrixError(await joinRoom(bob, roomId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, bob.userId)).toBeUndefined();
    await expectOk(membershipAction(alice, 'invite', roomId, bob.userId), {});
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('invite');
    await expectOk(joinRoomById(bob, roomId), { room_id: roomId });
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
  });

  it('answers joining twice with 200 and stays joined', async () => {
    const [alice, bob] = await users(2, 'join');
    const roomId = await publicRoomWith(alice, [bob]);
    await expectOk(joinRoomById(bob, roomId), { room_id: roomId });
    await expectOk(joinRoom(alice, roomId), { room_id: roomId });
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
    expect(await joinedRooms(bob)).toEqual([roomId]);
  });

  it("puts the joiner's current displayname and avatar_url on the member event", async () => {
    const [alice, bob] = await users(2, 'join');
    await setProfileField(bob, 'displayname', 'Bob Joiner');
    await setProfileField(bob, 'avatar_url', 'mxc://test.local/bobAvatar');
    const roomId = await publicRoomWith(alice, [bob]);
    expect(await stateContent(alice, roomId, 'm.room.member', bob.userId)).toMatchObject({
      membership: 'join',
      displayname: 'Bob Joiner',
      avatar_url: 'mxc://test.local/bobAvatar',
    });
    expect((await joinedMembers(alice, roomId))[bob.userId]).toEqual({
      display_name: 'Bob Joiner',
      avatar_url: 'mxc://test.local/bobAvatar',
    });
  });

  it('rejoins a public room after leaving', async () => {
    const [alice, bob] = await users(2, 'join');
    const roomId = await publicRoomWith(alice, [bob]);
    await expectOk(leaveRoom(bob, roomId), {});
    await expectOk(joinRoomById(bob, roomId), { room_id: roomId });
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
  });
});

describe('leaving', () => {
  it('leaves a room: membership leave, gone from /joined_rooms and /joined_members', async () => {
    const [alice, bob] = await users(2, 'leave');
    const roomId = await publicRoomWith(alice, [bob]);
    await expectOk(leaveRoom(bob, roomId), {});
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('leave');
    expect(await joinedRooms(bob)).toEqual([]);
    expect(await joinedMembers(alice, roomId)).toEqual({ [alice.userId]: {} });
  });

  it('answers leaving a room one is not in with 403 M_FORBIDDEN', async () => {
    const [alice, bob] = await users(2, 'leave');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    expectMatrixError(await leaveRoom(bob, roomId), 403, 'M_FORBIDDEN');
    await expectOk(joinRoomById(bob, roomId));
    await expectOk(leaveRoom(bob, roomId));
    expectMatrixError(await leaveRoom(bob, roomId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('leave');
  });

  it('rejects an invite by leaving', async () => {
    const [alice, bob] = await users(2, 'leave');
    const roomId = await createRoomOk(alice, { invite: [bob.userId] });
    await expectOk(leaveRoom(bob, roomId), {});
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('leave');
    // The invite is gone: the invite-only room cannot be joined any more.
    expectMatrixError(await joinRoomById(bob, roomId), 403, 'M_FORBIDDEN');
  });
});

describe('inviting', () => {
  it('forbids inviting by someone who is not joined', async () => {
    const [alice, bob, carol] = await users(3, 'invite');
    const roomId = await createRoomOk(alice, { invite: [bob.userId] });
    expectMatrixError(await membershipAction(bob, 'invite', roomId, carol.userId), 403, 'M_FORBIDDEN');
    expectMatrixError(await membershipAction(carol, 'invite', roomId, bob.userId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, carol.userId)).toBeUndefined();
  });

  it('lets any joined member invite (invite level 0)', async () => {
    const [alice, bob, carol] = await users(3, 'invite');
    const roomId = await publicRoomWith(alice, [bob], { preset: 'private_chat', invite: [bob.userId] });
    await expectOk(membershipAction(bob, 'invite', roomId, carol.userId), {});
    expect(await membershipOf(alice, roomId, carol.userId)).toBe('invite');
  });

  it('forbids inviting a joined user and a banned user', async () => {
    const [alice, bob, carol] = await users(3, 'invite');
    const roomId = await publicRoomWith(alice, [bob]);
    expectMatrixError(await membershipAction(alice, 'invite', roomId, bob.userId), 403, 'M_FORBIDDEN');
    await expectOk(membershipAction(alice, 'ban', roomId, carol.userId), {});
    expectMatrixError(await membershipAction(alice, 'invite', roomId, carol.userId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, carol.userId)).toBe('ban');
  });

  it('rejects an invalid user_id with 400 M_INVALID_PARAM and a missing one with 400 M_BAD_JSON', async () => {
    const [alice] = await users(1, 'invite');
    const roomId = await createRoomOk(alice);
    expectMatrixError(await membershipAction(alice, 'invite', roomId, 'not-a-user'), 400, 'M_INVALID_PARAM');
    expectMatrixError(await roomPost(alice, roomId, 'invite', {}), 400, 'M_BAD_JSON');
    expectMatrixError(await roomPost(alice, roomId, 'invite', { user_id: 5 }), 400, 'M_BAD_JSON');
  });

  it('answers inviting into an unknown room without a 5xx', async () => {
    const [alice, bob] = await users(2, 'invite');
    const response = await membershipAction(alice, 'invite', `!${uniqueLocalpart('nope')}:${SERVER}`, bob.userId);
    expect([403, 404]).toContain(response.status);
  });
});

describe('kick, ban and unban', () => {
  it('lets the creator kick a member: 200 {}, membership leave', async () => {
    const [alice, bob] = await users(2, 'kick');
    const roomId = await publicRoomWith(alice, [bob]);
    await expectOk(membershipAction(alice, 'kick', roomId, bob.userId, { reason: 'spam' }), {});
    expect(await stateContent(alice, roomId, 'm.room.member', bob.userId)).toMatchObject({ membership: 'leave' });
    expect(await joinedRooms(bob)).toEqual([]);
    // A kick is not a ban: the public room can be joined again.
    await expectOk(joinRoomById(bob, roomId));
  });

  it('forbids kick, ban and unban by a member at power level 0', async () => {
    const [alice, bob, carol] = await users(3, 'kick');
    const roomId = await publicRoomWith(alice, [bob, carol]);
    for (const action of ['kick', 'ban'] as const) {
      expectMatrixError(await membershipAction(bob, action, roomId, carol.userId), 403, 'M_FORBIDDEN');
      expectMatrixError(await membershipAction(bob, action, roomId, alice.userId), 403, 'M_FORBIDDEN');
    }
    await expectOk(membershipAction(alice, 'ban', roomId, carol.userId));
    expectMatrixError(await membershipAction(bob, 'unban', roomId, carol.userId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, alice.userId)).toBe('join');
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
    expect(await membershipOf(alice, roomId, carol.userId)).toBe('ban');
  });

  it('forbids kicking yourself', async () => {
    const [alice, bob] = await users(2, 'kick');
    const roomId = await publicRoomWith(alice, [bob]);
    expectMatrixError(await membershipAction(alice, 'kick', roomId, alice.userId), 403, 'M_FORBIDDEN');
    expectMatrixError(await membershipAction(bob, 'kick', roomId, bob.userId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, alice.userId)).toBe('join');
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
  });

  it('forbids kicking someone who is not in the room', async () => {
    const [alice, bob] = await users(2, 'kick');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    expectMatrixError(await membershipAction(alice, 'kick', roomId, bob.userId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, bob.userId)).toBeUndefined();
  });

  it('bans a member: membership ban, cannot join, cannot be invited', async () => {
    const [alice, bob] = await users(2, 'ban');
    const roomId = await publicRoomWith(alice, [bob]);
    await expectOk(membershipAction(alice, 'ban', roomId, bob.userId, { reason: 'rude' }), {});
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('ban');
    expect(await joinedRooms(bob)).toEqual([]);
    expectMatrixError(await joinRoomById(bob, roomId), 403, 'M_FORBIDDEN');
    expectMatrixError(await joinRoom(bob, roomId), 403, 'M_FORBIDDEN');
    expectMatrixError(await membershipAction(alice, 'invite', roomId, bob.userId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('ban');
  });

  it('bans a user who never joined', async () => {
    const [alice, bob] = await users(2, 'ban');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    await expectOk(membershipAction(alice, 'ban', roomId, bob.userId), {});
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('ban');
    expectMatrixError(await joinRoomById(bob, roomId), 403, 'M_FORBIDDEN');
  });

  it('unbans to leave; the user can join a public room again', async () => {
    const [alice, bob] = await users(2, 'unban');
    const roomId = await publicRoomWith(alice, [bob]);
    await expectOk(membershipAction(alice, 'ban', roomId, bob.userId));
    await expectOk(membershipAction(alice, 'unban', roomId, bob.userId), {});
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('leave');
    await expectOk(joinRoomById(bob, roomId), { room_id: roomId });
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
  });

  it('after an unban, an invite-only room still needs an invite', async () => {
    const [alice, bob] = await users(2, 'unban');
    const roomId = await createRoomOk(alice, { invite: [bob.userId] });
    await expectOk(joinRoomById(bob, roomId));
    await expectOk(membershipAction(alice, 'ban', roomId, bob.userId));
    await expectOk(membershipAction(alice, 'unban', roomId, bob.userId));
    expectMatrixError(await joinRoomById(bob, roomId), 403, 'M_FORBIDDEN');
    await expectOk(membershipAction(alice, 'invite', roomId, bob.userId));
    await expectOk(joinRoomById(bob, roomId));
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
  });

  it('forbids unbanning a user who is not banned', async () => {
    const [alice, bob, carol] = await users(3, 'unban');
    const roomId = await publicRoomWith(alice, [bob]);
    expectMatrixError(await membershipAction(alice, 'unban', roomId, bob.userId), 403, 'M_FORBIDDEN');
    expectMatrixError(await membershipAction(alice, 'unban', roomId, carol.userId), 403, 'M_FORBIDDEN');
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
  });

  it('rejects a missing or invalid user_id on kick, ban and unban', async () => {
    const [alice] = await users(1, 'kick');
    const roomId = await createRoomOk(alice);
    for (const action of ['kick', 'ban', 'unban'] as const) {
      expectMatrixError(await roomPost(alice, roomId, action, {}), 400, 'M_BAD_JSON');
      expectMatrixError(await membershipAction(alice, action, roomId, 'not-a-user'), 400, 'M_INVALID_PARAM');
    }
  });
});

describe('forgetting', () => {
  it('forgets a room only after leaving it', async () => {
    const [alice, bob] = await users(2, 'forget');
    const roomId = await publicRoomWith(alice, [bob]);
    expectMatrixError(await forgetRoom(bob, roomId), 400, 'M_UNKNOWN');
    await expectOk(leaveRoom(bob, roomId));
    await expectOk(forgetRoom(bob, roomId), {});
    expect(await joinedRooms(bob)).toEqual([]);
    // Forgetting does not stop a later join of a public room.
    await expectOk(joinRoomById(bob, roomId));
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('join');
  });

  it('forgets a room after being kicked', async () => {
    const [alice, bob] = await users(2, 'forget');
    const roomId = await publicRoomWith(alice, [bob]);
    await expectOk(membershipAction(alice, 'kick', roomId, bob.userId));
    await expectOk(forgetRoom(bob, roomId), {});
  });
});

describe('membership reads', () => {
  it('answers /joined_members and room state only to joined members', async () => {
    const [alice, bob, carol] = await users(3, 'reads');
    const roomId = await publicRoomWith(alice, [bob]);
    expectMatrixError(await getJoinedMembers(carol, roomId), 403, 'M_FORBIDDEN');
    expectMatrixError(await getState(carol, roomId, 'm.room.member', alice.userId), 403, 'M_FORBIDDEN');
    expectMatrixError(await getState(carol, roomId, 'm.room.create'), 403, 'M_FORBIDDEN');
    await expectOk(leaveRoom(bob, roomId));
    expectMatrixError(await getJoinedMembers(bob, roomId), 403, 'M_FORBIDDEN');
    expectMatrixError(await getState(bob, roomId, 'm.room.member', alice.userId), 403, 'M_FORBIDDEN');
  });

  it('forbids an invited (not yet joined) user from reading /joined_members', async () => {
    const [alice, bob] = await users(2, 'reads');
    const roomId = await createRoomOk(alice, { invite: [bob.userId] });
    expectMatrixError(await getJoinedMembers(bob, roomId), 403, 'M_FORBIDDEN');
  });

  it('answers unknown state with 404 M_NOT_FOUND', async () => {
    const [alice, bob] = await users(2, 'reads');
    const roomId = await createRoomOk(alice);
    expectMatrixError(await getState(alice, roomId, 'm.room.member', bob.userId), 404, 'M_NOT_FOUND');
    expectMatrixError(await getState(alice, roomId, 'com.example.nothing'), 404, 'M_NOT_FOUND');
    expectMatrixError(await getState(alice, roomId, 'm.room.create', 'not-empty'), 404, 'M_NOT_FOUND');
  });

  it('answers reads of an unknown room without a 5xx and without content', async () => {
    const [alice] = await users(1, 'reads');
    const unknown = `!${uniqueLocalpart('nope')}:${SERVER}`;
    for (const response of [await getJoinedMembers(alice, unknown), await getState(alice, unknown, 'm.room.create')]) {
      expect([403, 404]).toContain(response.status);
    }
  });

  it('answers a malformed room ID in the path with 400 M_INVALID_PARAM', async () => {
    const [alice, bob] = await users(2, 'reads');
    for (const bad of ['notaroom', '#alias:test.local', '@user:test.local']) {
      expectMatrixError(await getState(alice, bad, 'm.room.create'), 400, 'M_INVALID_PARAM');
      expectMatrixError(await getJoinedMembers(alice, bad), 400, 'M_INVALID_PARAM');
      expectMatrixError(await joinRoomById(alice, bad), 400, 'M_INVALID_PARAM');
      expectMatrixError(await leaveRoom(alice, bad), 400, 'M_INVALID_PARAM');
      expectMatrixError(await forgetRoom(alice, bad), 400, 'M_INVALID_PARAM');
      for (const action of ['invite', 'kick', 'ban', 'unban'] as const) {
        expectMatrixError(await membershipAction(alice, action, bad, bob.userId), 400, 'M_INVALID_PARAM');
      }
    }
  });

  it('answers /join with a malformed room ID or alias with 400 M_INVALID_PARAM', async () => {
    const [alice] = await users(1, 'reads');
    expectMatrixError(await joinRoom(alice, 'notaroom'), 400, 'M_INVALID_PARAM');
  });

  it('requires an access token for the reads', async () => {
    const [alice] = await users(1, 'reads');
    const roomId = await createRoomOk(alice);
    expectMatrixError(await request('GET', `${CLIENT_V3}/joined_rooms`), 401, 'M_MISSING_TOKEN');
    expectMatrixError(await request('GET', `${CLIENT_V3}/rooms/${encodeURIComponent(roomId)}/joined_members`), 401, 'M_MISSING_TOKEN');
  });
});

describe('profile propagation into member events', () => {
  it('updates the displayname in every joined room at once, and not in a room left', async () => {
    const [alice, bob] = await users(2, 'prop');
    const own = await createRoomOk(alice);
    const joined = await publicRoomWith(bob, [alice]);
    const left = await publicRoomWith(bob, [alice]);
    await expectOk(leaveRoom(alice, left));

    await setProfileField(alice, 'displayname', 'New');
    for (const [roomId, observer] of [
      [own, alice],
      [joined, bob],
    ] as const) {
      expect(await stateContent(observer, roomId, 'm.room.member', alice.userId)).toMatchObject({
        membership: 'join',
        displayname: 'New',
      });
      expect((await joinedMembers(observer, roomId))[alice.userId]).toMatchObject({ display_name: 'New' });
    }
    const leftMember = await stateContent(bob, left, 'm.room.member', alice.userId);
    expect(leftMember['membership']).toBe('leave');
    expect(Object.keys(await joinedMembers(bob, left))).toEqual([bob.userId]);

    await setProfileField(alice, 'displayname', 'Newer');
    expect(await stateContent(bob, joined, 'm.room.member', alice.userId)).toMatchObject({ membership: 'join', displayname: 'Newer' });
  });

  it('updates the avatar_url in every joined room at once', async () => {
    const [alice, bob] = await users(2, 'prop');
    await setProfileField(alice, 'displayname', 'Alice');
    const own = await createRoomOk(alice);
    const joined = await publicRoomWith(bob, [alice]);
    await setProfileField(alice, 'avatar_url', 'mxc://test.local/abc');
    for (const [roomId, observer] of [
      [own, alice],
      [joined, bob],
    ] as const) {
      expect(await stateContent(observer, roomId, 'm.room.member', alice.userId)).toMatchObject({
        membership: 'join',
        displayname: 'Alice',
        avatar_url: 'mxc://test.local/abc',
      });
      expect((await joinedMembers(observer, roomId))[alice.userId]).toEqual({ display_name: 'Alice', avatar_url: 'mxc://test.local/abc' });
    }
  });

  it('does not touch the member event for other profile fields', async () => {
    const [alice, bob] = await users(2, 'prop');
    await setProfileField(alice, 'displayname', 'Alice');
    const roomId = await publicRoomWith(bob, [alice]);
    const before = await stateContent(bob, roomId, 'm.room.member', alice.userId);
    await setProfileField(alice, 'm.tz', 'Europe/Paris');
    await setProfileField(alice, 'com.example.x', { y: 1 });
    expect(await stateContent(bob, roomId, 'm.room.member', alice.userId)).toEqual(before);
  });

  it('does not turn an invite into a join when the invitee changes their displayname', async () => {
    const [alice, bob] = await users(2, 'prop');
    const roomId = await createRoomOk(alice, { invite: [bob.userId] });
    await setProfileField(bob, 'displayname', 'Invited Bob');
    expect((await stateContent(alice, roomId, 'm.room.member', bob.userId))['membership']).toBe('invite');
    expect(await joinedRooms(bob)).toEqual([]);
  });
});

describe('concurrent membership commands through two writers', () => {
  const writerB = extraWriter('writer-b', PORT_OFFSETS.rooms.writerB, {});
  const viaB: Via = { baseUrl: writerB.url };

  beforeAll(async () => {
    writerB.killLeftover();
    writerB.start();
    await writerB.waitReady();
  });
  afterAll(async () => {
    await writerB.stop();
  });

  it('serves commands and reads through the second writer', async () => {
    const [alice, bob] = await users(2, 'twob');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' }, viaB);
    await expectOk(joinRoomById(bob, roomId), { room_id: roomId });
    expect(await membershipOf(alice, roomId, bob.userId, viaB)).toBe('join');
    await expectOk(membershipAction(alice, 'kick', roomId, bob.userId, viaB));
    expect(await membershipOf(alice, roomId, bob.userId)).toBe('leave');
  });

  it('resolves a ban (writer A) racing a join (writer B) consistently with the answers', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 6; round += 1) {
      const [owner, x] = await users(2, 'race');
      const roomId = await createRoomOk(owner, { preset: 'public_chat' });
      const [ban, join] = await Promise.all([membershipAction(owner, 'ban', roomId, x.userId), joinRoomById(x, roomId, viaB)]);
      for (const response of [ban, join]) {
        expectWellFormed(response, `round ${round}`);
        expect([200, 403], `round ${round}: ${response.status} ${JSON.stringify(response.body)}`).toContain(response.status);
      }
      const final = await membershipOf(owner, roomId, x.userId);
      const finalViaB = await membershipOf(owner, roomId, x.userId, viaB);
      expect(finalViaB).toBe(final);
      outcomes.push(`ban=${ban.status} join=${join.status} final=${final}`);
      const shown = outcomes.join('; ');
      if (ban.status === 200) expect(final, shown).toBe('ban');
      if (join.status === 403) expect(final, shown).not.toBe('join');
      if (join.status === 200 && ban.status === 200) expect(final, shown).toBe('ban');
      // Banning a user is allowed whatever their membership, so the ban always succeeds.
      expect(ban.status, shown).toBe(200);
      expect(await joinedRooms(x)).toEqual([]);
    }
  });

  it('accepts exactly one of two concurrent kicks of the same user, one per writer', async () => {
    for (let round = 0; round < 4; round += 1) {
      const [owner, x] = await users(2, 'kickrace');
      const roomId = await publicRoomWith(owner, [x]);
      const responses = await Promise.all([
        membershipAction(owner, 'kick', roomId, x.userId),
        membershipAction(owner, 'kick', roomId, x.userId, viaB),
      ]);
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses, `round ${round}: ${JSON.stringify(responses.map((r) => [r.status, r.body]))}`).toEqual([200, 403]);
      const rejected = responses.find((response) => response.status === 403)!;
      expectMatrixError(rejected, 403, 'M_FORBIDDEN');
      expect(await membershipOf(owner, roomId, x.userId)).toBe('leave');
      expect(await membershipOf(owner, roomId, x.userId, viaB)).toBe('leave');
    }
  });

  it('applies concurrent invite acceptances by two users through both writers', async () => {
    for (let round = 0; round < 3; round += 1) {
      const [owner, u1, u2] = await users(3, 'accept');
      const roomId = await createRoomOk(owner, { invite: [u1.userId, u2.userId] });
      const [a, b] = await Promise.all([joinRoomById(u1, roomId), joinRoomById(u2, roomId, viaB)]);
      await expectOk(a, { room_id: roomId });
      await expectOk(b, { room_id: roomId });
      expect(Object.keys(await joinedMembers(owner, roomId)).sort()).toEqual([owner.userId, u1.userId, u2.userId].sort());
    }
  });

  it('applies the same invitee accepting through both writers at once: both 200, joined once', async () => {
    const [owner, x] = await users(2, 'accept');
    const roomId = await createRoomOk(owner, { invite: [x.userId] });
    const [a, b] = await Promise.all([joinRoomById(x, roomId), joinRoomById(x, roomId, viaB)]);
    await expectOk(a, { room_id: roomId });
    await expectOk(b, { room_id: roomId });
    expect(await membershipOf(owner, roomId, x.userId)).toBe('join');
    expect(await joinedRooms(x)).toEqual([roomId]);
  });

  it('joins many users concurrently through both writers', async () => {
    const [owner] = await users(1, 'crowd');
    const joiners = await users(8, 'crowd');
    const roomId = await createRoomOk(owner, { preset: 'public_chat' });
    const responses = await Promise.all(joiners.map((joiner, i) => joinRoomById(joiner, roomId, i % 2 === 0 ? {} : viaB)));
    for (const response of responses) await expectOk(response, { room_id: roomId });
    expect(Object.keys(await joinedMembers(owner, roomId)).sort()).toEqual([owner, ...joiners].map((u) => u.userId).sort());
  });

  it('gives a contested alias to exactly one of two concurrent createRoom calls', async () => {
    const [alice, bob, carol] = await users(3, 'aliasrace');
    const aliasName = uniqueLocalpart('contested');
    const [a, b] = await Promise.all([
      createRoom(alice, { preset: 'public_chat', room_alias_name: aliasName }),
      createRoom(bob, { preset: 'public_chat', room_alias_name: aliasName }, viaB),
    ]);
    const shown = JSON.stringify([a.status, a.body, b.status, b.body]);
    expect([a.status, b.status].sort(), shown).toEqual([200, 400]);
    const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
    expectMatrixError(loser, 400, 'M_ROOM_IN_USE');
    await expectOk(joinRoom(carol, `#${aliasName}:${SERVER}`), { room_id: winner.body.room_id });
  });

  it('keeps a kick racing a leave consistent: final membership leave, no 5xx', async () => {
    for (let round = 0; round < 3; round += 1) {
      const [owner, x] = await users(2, 'kickleave');
      const roomId = await publicRoomWith(owner, [x]);
      const [kick, leave] = await Promise.all([membershipAction(owner, 'kick', roomId, x.userId), leaveRoom(x, roomId, viaB)]);
      const shown = JSON.stringify([kick.status, kick.body, leave.status, leave.body]);
      expect([200, 403], shown).toContain(kick.status);
      expect([200, 403], shown).toContain(leave.status);
      // Exactly one of them takes the member out; the other sees them gone.
      expect(
        [kick.status, leave.status].filter((status) => status === 200),
        shown,
      ).toHaveLength(1);
      expect(await membershipOf(owner, roomId, x.userId)).toBe('leave');
    }
  });
});
