import { findUnstorableJson, isValidUserId } from '@mx/matrix';

/**
 * What the project keeps from an Application Service transaction (spec application_service
 * `PUT /_matrix/app/v1/transactions/{txnId}`): the `m.room.member` events, as facts observed from
 * the homeserver. Every other event is ignored. A homeserver retries a transaction until it is
 * answered 200, re-serialising it (its `age` changes), so the same event may arrive more than once:
 * the event ID is what makes applying it idempotent.
 */
export type Membership = 'join' | 'invite' | 'leave' | 'ban' | 'knock';

const MEMBERSHIPS: ReadonlySet<string> = new Set(['join', 'invite', 'leave', 'ban', 'knock']);

export interface ObservedMembership {
  readonly eventId: string;
  readonly roomId: string;
  /** The member (the event's state key). */
  readonly userId: string;
  readonly sender: string;
  readonly membership: Membership;
  readonly originServerTs: number;
  /** The member event this one replaced in the room's state, when the homeserver said so (`unsigned.replaces_state`). */
  readonly replacesState: string | undefined;
  /** `displayname` / `avatar_url` of the content when it holds them (a join carries the member's profile). */
  readonly displayname: string | null | undefined;
  readonly avatarUrl: string | null | undefined;
}

export interface ParsedTransaction {
  readonly memberships: readonly ObservedMembership[];
  /** Events skipped because they are not member events (counted, not kept). */
  readonly ignored: number;
  /** Member events refused as malformed, with why (logged; the transaction is still acknowledged). */
  readonly malformed: readonly { readonly eventId: string | undefined; readonly reason: string }[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string, null (cleared), or undefined (absent / not a string, which clients treat as unset). */
function profileValue(content: Record<string, unknown>, key: string): string | null | undefined {
  if (!Object.hasOwn(content, key)) return undefined;
  const value = content[key];
  return typeof value === 'string' || value === null ? value : undefined;
}

/**
 * Reads a transaction body. Throws only when the body is not a transaction at all (no `events`
 * array): the endpoint answers 400 and the homeserver keeps retrying (its bug, visible in our log).
 */
export function parseAppserviceTransaction(body: unknown): ParsedTransaction {
  if (!isObject(body) || !Array.isArray(body['events'])) throw new TypeError('a transaction has an `events` array');
  const memberships: ObservedMembership[] = [];
  const malformed: { eventId: string | undefined; reason: string }[] = [];
  let ignored = 0;
  for (const event of body['events'] as unknown[]) {
    if (!isObject(event) || event['type'] !== 'm.room.member') {
      ignored += 1;
      continue;
    }
    const eventId = typeof event['event_id'] === 'string' ? event['event_id'] : undefined;
    const refuse = (reason: string) => malformed.push({ eventId, reason });
    const { room_id: roomId, state_key: userId, sender, content, origin_server_ts: ts } = event;
    if (eventId === undefined || !eventId.startsWith('$')) refuse('no event_id');
    else if (typeof roomId !== 'string' || !roomId.startsWith('!')) refuse('no room_id');
    else if (typeof userId !== 'string' || !isValidUserId(userId)) refuse('state_key is not a user ID');
    else if (typeof sender !== 'string') refuse('no sender');
    else if (!isObject(content) || typeof content['membership'] !== 'string' || !MEMBERSHIPS.has(content['membership']))
      refuse('no known membership');
    else if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) refuse('no origin_server_ts');
    else {
      const problem = findUnstorableJson(event);
      if (problem !== null) {
        refuse(`holds what cannot be stored: ${problem}`);
        continue;
      }
      const unsigned = isObject(event['unsigned']) ? event['unsigned'] : {};
      memberships.push({
        eventId,
        roomId,
        userId,
        sender,
        membership: content['membership'] as Membership,
        originServerTs: ts,
        replacesState: typeof unsigned['replaces_state'] === 'string' ? unsigned['replaces_state'] : undefined,
        displayname: profileValue(content, 'displayname'),
        avatarUrl: profileValue(content, 'avatar_url'),
      });
    }
  }
  return { memberships, ignored, malformed };
}
