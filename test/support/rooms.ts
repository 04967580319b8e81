import { expect } from 'vitest';
import { CLIENT_V3, expectStatus } from './accounts.js';
import { type MatrixResponse, type TestUser, request } from './matrix-client.js';

/**
 * Helpers for the room and membership integration tests. Every response that passes through
 * here is checked to be well formed: never a 5xx, and every error is `{errcode, error}`.
 */
export interface Via {
  /** Another writer's URL; the router when omitted. */
  readonly baseUrl?: string;
}

export type Content = Record<string, unknown>;

/** Fails on a 5xx or on an error body without string `errcode` and `error`. */
export function expectWellFormed(response: MatrixResponse<unknown>, what: string): void {
  const shown = `${what}: ${response.status} ${JSON.stringify(response.body)}`;
  expect(response.status, shown).toBeLessThan(500);
  if (response.status >= 400) {
    const body = (response.body ?? {}) as Record<string, unknown>;
    expect({ errcode: typeof body['errcode'], error: typeof body['error'] }, shown).toEqual({ errcode: 'string', error: 'string' });
  }
}

async function call<T = Content>(
  user: TestUser | undefined,
  method: string,
  path: string,
  body: unknown,
  via: Via,
): Promise<MatrixResponse<T>> {
  const response = await request<T>(method, path, {
    ...(user ? { token: user.accessToken } : {}),
    ...(body === undefined ? {} : { body }),
    ...(via.baseUrl ? { baseUrl: via.baseUrl } : {}),
  });
  expectWellFormed(response, `${method} ${path}`);
  return response;
}

export function roomPath(roomId: string, action: string): string {
  return `${CLIENT_V3}/rooms/${encodeURIComponent(roomId)}/${action}`;
}

export interface CreateRoomResponse {
  readonly room_id: string;
  readonly room_alias?: string;
}

export function createRoom(user: TestUser, body: unknown = {}, via: Via = {}): Promise<MatrixResponse<CreateRoomResponse>> {
  return call<CreateRoomResponse>(user, 'POST', `${CLIENT_V3}/createRoom`, body, via);
}

/** Creates a room, asserts 200, and answers its ID. */
export async function createRoomOk(user: TestUser, body: Content = {}, via: Via = {}): Promise<string> {
  const response = await createRoom(user, body, via);
  expectStatus(response, 200);
  expect(response.body.room_id).toMatch(/^![^:]+:test\.local$/);
  return response.body.room_id;
}

/** `POST /join/{roomIdOrAlias}`. */
export function joinRoom(user: TestUser, roomIdOrAlias: string, via: Via = {}): Promise<MatrixResponse<{ room_id: string }>> {
  return call<{ room_id: string }>(user, 'POST', `${CLIENT_V3}/join/${encodeURIComponent(roomIdOrAlias)}`, {}, via);
}

/** `POST /rooms/{roomId}/join`. */
export function joinRoomById(user: TestUser, roomId: string, via: Via = {}): Promise<MatrixResponse<{ room_id: string }>> {
  return call<{ room_id: string }>(user, 'POST', roomPath(roomId, 'join'), {}, via);
}

export function leaveRoom(user: TestUser, roomId: string, via: Via = {}): Promise<MatrixResponse> {
  return call(user, 'POST', roomPath(roomId, 'leave'), {}, via);
}

export function forgetRoom(user: TestUser, roomId: string, via: Via = {}): Promise<MatrixResponse> {
  return call(user, 'POST', roomPath(roomId, 'forget'), {}, via);
}

export type MembershipAction = 'invite' | 'kick' | 'ban' | 'unban';

/** invite / kick / ban / unban with `{user_id, reason?}`. */
export function membershipAction(
  user: TestUser,
  action: MembershipAction,
  roomId: string,
  target: string,
  options: { reason?: string } & Via = {},
): Promise<MatrixResponse> {
  const body: Content = { user_id: target, ...(options.reason === undefined ? {} : { reason: options.reason }) };
  return call(user, 'POST', roomPath(roomId, action), body, options);
}

/** Any POST body to a room action (for malformed-body tests). */
export function roomPost(
  user: TestUser | undefined,
  roomId: string,
  action: string,
  body: unknown,
  via: Via = {},
): Promise<MatrixResponse> {
  return call(user, 'POST', roomPath(roomId, action), body, via);
}

export function getState(user: TestUser, roomId: string, eventType: string, stateKey = '', via: Via = {}): Promise<MatrixResponse> {
  const path = roomPath(roomId, `state/${encodeURIComponent(eventType)}`) + (stateKey === '' ? '' : `/${encodeURIComponent(stateKey)}`);
  return call(user, 'GET', path, undefined, via);
}

/** The content of a state event, asserting 200. */
export async function stateContent(user: TestUser, roomId: string, eventType: string, stateKey = '', via: Via = {}): Promise<Content> {
  const response = await getState(user, roomId, eventType, stateKey, via);
  expectStatus(response, 200);
  return response.body;
}

/** The membership of `userId` as `observer` (who must be joined) reads it; undefined when there is no member event. */
export async function membershipOf(observer: TestUser, roomId: string, userId: string, via: Via = {}): Promise<string | undefined> {
  const response = await getState(observer, roomId, 'm.room.member', userId, via);
  if (response.status === 404) return undefined;
  expectStatus(response, 200);
  return response.body['membership'] as string;
}

export async function joinedRooms(user: TestUser, via: Via = {}): Promise<string[]> {
  const response = await call<{ joined_rooms: string[] }>(user, 'GET', `${CLIENT_V3}/joined_rooms`, undefined, via);
  expectStatus(response, 200);
  expect(Array.isArray(response.body.joined_rooms)).toBe(true);
  return response.body.joined_rooms;
}

export type JoinedMembers = Record<string, { display_name?: string; avatar_url?: string }>;

export function getJoinedMembers(user: TestUser, roomId: string, via: Via = {}): Promise<MatrixResponse<{ joined: JoinedMembers }>> {
  return call<{ joined: JoinedMembers }>(user, 'GET', roomPath(roomId, 'joined_members'), undefined, via);
}

export async function joinedMembers(user: TestUser, roomId: string, via: Via = {}): Promise<JoinedMembers> {
  const response = await getJoinedMembers(user, roomId, via);
  expectStatus(response, 200);
  return response.body.joined;
}
