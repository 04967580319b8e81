/**
 * `/sync` positions: for each topic the projection reads, the next offset of every partition
 * that the projection had committed when the response was built.
 *
 * Format version 1, URL-safe and opaque to clients:
 *   m1_<epoch>_<profile offsets>_<membership offsets>
 * offsets are base-36 integers joined by `.`, one per partition, in partition order. The epoch
 * names the topic layout (topic names, partition counts, projection generation): a token from
 * another epoch does not fit and the sync starts afresh instead of failing.
 */
export interface SyncPositions {
  readonly epoch: string;
  readonly profile: readonly number[];
  readonly membership: readonly number[];
}

const VERSION = 'm1';
const EPOCH = /^[a-z0-9]{1,32}$/;
const OFFSETS = /^[0-9a-z]{1,11}(\.[0-9a-z]{1,11}){0,999}$/;

export class MalformedSyncTokenError extends Error {
  constructor() {
    super('Malformed sync token');
    this.name = 'MalformedSyncTokenError';
  }
}

function encodeOffsets(offsets: readonly number[]): string {
  return offsets.map((offset) => offset.toString(36)).join('.');
}

function decodeOffsets(text: string): number[] {
  if (!OFFSETS.test(text)) throw new MalformedSyncTokenError();
  return text.split('.').map((part) => {
    const value = parseInt(part, 36);
    if (!Number.isSafeInteger(value)) throw new MalformedSyncTokenError();
    return value;
  });
}

export function encodeSyncToken(positions: SyncPositions): string {
  return [VERSION, positions.epoch, encodeOffsets(positions.profile), encodeOffsets(positions.membership)].join('_');
}

/** Parses a token; throws MalformedSyncTokenError for anything this version did not produce. */
export function decodeSyncToken(token: string): SyncPositions {
  const parts = token.split('_');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new MalformedSyncTokenError();
  const [, epoch, profile, membership] = parts as [string, string, string, string];
  if (!EPOCH.test(epoch)) throw new MalformedSyncTokenError();
  return { epoch, profile: decodeOffsets(profile), membership: decodeOffsets(membership) };
}

/** Whether a token's positions describe the same topic layout as the current ones. */
export function fitsLayout(token: SyncPositions, current: SyncPositions): boolean {
  return (
    token.epoch === current.epoch &&
    token.profile.length === current.profile.length &&
    token.membership.length === current.membership.length
  );
}

/** Whether anything was committed after `since` (component-wise comparison). */
export function isBehind(since: SyncPositions, current: SyncPositions): boolean {
  return (
    current.profile.some((offset, partition) => offset > (since.profile[partition] ?? 0)) ||
    current.membership.some((offset, partition) => offset > (since.membership[partition] ?? 0))
  );
}

/** Whether a token claims positions beyond `current` in any partition (it cannot come from this log). */
export function isAhead(token: SyncPositions, current: SyncPositions): boolean {
  return (
    token.profile.some((offset, partition) => offset > (current.profile[partition] ?? 0)) ||
    token.membership.some((offset, partition) => offset > (current.membership[partition] ?? 0))
  );
}
