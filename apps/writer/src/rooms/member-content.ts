import { AVATAR_URL, DISPLAYNAME } from '@mx/matrix';
import type { Membership } from '@mx/rooms';

/** `m.room.member` content for a membership, carrying the user's displayname and avatar when set. */
export function memberContent(membership: Membership, profile: ReadonlyMap<string, unknown>, reason?: string): Record<string, unknown> {
  const displayname = profile.get(DISPLAYNAME);
  const avatarUrl = profile.get(AVATAR_URL);
  return {
    membership,
    ...(typeof displayname === 'string' ? { displayname } : {}),
    ...(typeof avatarUrl === 'string' ? { avatar_url: avatarUrl } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}
