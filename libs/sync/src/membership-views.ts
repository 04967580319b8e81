import { ByteBoundedLru } from './byte-bounded-lru.js';

/**
 * What one user's sync needs to know about memberships: the rooms they are joined to and the
 * users they share one with (themselves included when in any room), as read from the projection
 * in one snapshot at the membership-topic positions `membership`.
 */
export interface MembershipView {
  readonly joinedRooms: ReadonlySet<string>;
  readonly visible: ReadonlySet<string>;
  readonly membership: readonly number[];
}

/** Approximate heap bytes of one view besides its strings. */
const VIEW_OVERHEAD_BYTES = 400;
/** Approximate heap bytes of one set member besides its characters. */
const MEMBER_OVERHEAD_BYTES = 48;

function bytesOf(userId: string, view: MembershipView): number {
  let bytes = VIEW_OVERHEAD_BYTES + userId.length * 2;
  for (const value of view.joinedRooms) bytes += MEMBER_OVERHEAD_BYTES + value.length * 2;
  for (const value of view.visible) bytes += MEMBER_OVERHEAD_BYTES + value.length * 2;
  return bytes;
}

/**
 * A sync API replica's cache of membership views, least recently used first out beyond `maxBytes`.
 * A view is forgotten as soon as the replica hears a membership-topic commit that may change it:
 * one naming its user, touching one of its rooms, or listing neither (anything may have changed).
 * A view read before such a commit was heard but stored after must be checked by the caller
 * against the commits heard since its positions (see RecentChanges.membershipQuiet).
 */
export class MembershipViews {
  private readonly views: ByteBoundedLru<MembershipView>;
  /** Room → users whose cached view is joined to it. */
  private readonly byRoom = new Map<string, Set<string>>();

  constructor(maxBytes: number) {
    this.views = new ByteBoundedLru<MembershipView>(Number.MAX_SAFE_INTEGER, maxBytes, (userId, view) => {
      for (const room of view.joinedRooms) {
        const users = this.byRoom.get(room);
        users?.delete(userId);
        if (users?.size === 0) this.byRoom.delete(room);
      }
    });
  }

  get size(): number {
    return this.views.size;
  }

  get(userId: string): MembershipView | undefined {
    return this.views.get(userId);
  }

  set(userId: string, view: MembershipView): void {
    this.views.set(userId, view, bytesOf(userId, view));
    if (this.views.get(userId) !== view) return; // larger than the whole bound: not kept
    for (const room of view.joinedRooms) {
      let users = this.byRoom.get(room);
      if (!users) this.byRoom.set(room, (users = new Set()));
      users.add(userId);
    }
  }

  /** A membership-topic commit was heard: forgets the views it may change. */
  heard(commit: { readonly users?: readonly string[]; readonly rooms?: readonly string[] }): void {
    if (commit.users === undefined || commit.rooms === undefined) {
      this.forgetAll();
      return;
    }
    for (const user of commit.users) this.views.delete(user);
    for (const room of commit.rooms) for (const user of [...(this.byRoom.get(room) ?? [])]) this.views.delete(user);
  }

  forgetAll(): void {
    this.views.clear();
    this.byRoom.clear();
  }
}
