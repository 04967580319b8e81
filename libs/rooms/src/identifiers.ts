import { randomBytes } from 'node:crypto';

/** `!<opaque>:<server>` */
export function newRoomId(serverName: string): string {
  return `!${randomBytes(12).toString('base64url')}:${serverName}`;
}

/** `$<opaque>` (room versions 4+: no server part). */
export function newEventId(): string {
  return `$${randomBytes(18).toString('base64url')}`;
}

export function isRoomId(value: string): boolean {
  return /^![^:\s]+:[A-Za-z0-9.:[\]-]+$/.test(value) && Buffer.byteLength(value) <= 255;
}

export function isRoomAlias(value: string): boolean {
  return /^#[^:\s]+:[A-Za-z0-9.:[\]-]+$/.test(value) && Buffer.byteLength(value) <= 255;
}

/** The localpart `createRoom` accepts as `room_alias_name`. */
export function isValidAliasLocalpart(value: string): boolean {
  return /^[a-z0-9._=/+-]+$/i.test(value) && !value.includes(':');
}
