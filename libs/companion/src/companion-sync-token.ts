import { decodeSyncToken, encodeSyncToken, MalformedSyncTokenError, type SyncPositions } from '@mx/sync';

/**
 * `/sync` tokens in companion mode carry two positions: this project's (Kafka offsets, as in
 * standalone mode) and the homeserver's own token, forwarded to it byte for byte.
 *
 * Format version 1:
 *   mc1_<epoch>_<profile offsets>_<membership offsets>_<homeserver token>
 * The first four fields are this project's token without its `m1` version (see
 * libs/sync/src/sync-token.ts); everything after the fourth `_` is the homeserver's token, which
 * may itself hold `_` (Synapse's has 14 fields). A token that does not start with `mc1_` is taken
 * as a plain homeserver token (a client that synced straight with the homeserver, or while the
 * project was bypassed): its profile section starts afresh. Synapse refuses a token with anything
 * appended, so the homeserver's part is never altered.
 */
const PREFIX = 'mc1_';

export interface CompanionSyncToken {
  /** This project's positions; undefined for a plain homeserver token (start the users section afresh). */
  readonly positions: SyncPositions | undefined;
  /** The homeserver's token, as it issued it. */
  readonly homeserver: string;
}

export function encodeCompanionSyncToken(positions: SyncPositions, homeserver: string): string {
  if (homeserver.length === 0) throw new Error('the homeserver token is empty');
  // The project's own token is m1_<epoch>_<profile>_<membership>: swap its version for ours.
  return `${PREFIX}${encodeSyncToken(positions).slice('m1_'.length)}_${homeserver}`;
}

/** Parses a `since`; throws MalformedSyncTokenError when it claims to be ours but is not well formed. */
export function decodeCompanionSyncToken(token: string): CompanionSyncToken {
  if (!token.startsWith(PREFIX)) {
    if (token.length === 0) throw new MalformedSyncTokenError();
    return { positions: undefined, homeserver: token };
  }
  const rest = token.slice(PREFIX.length);
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < 3; i += 1) {
    const end = rest.indexOf('_', start);
    if (end < 0) throw new MalformedSyncTokenError();
    fields.push(rest.slice(start, end));
    start = end + 1;
  }
  const homeserver = rest.slice(start);
  if (homeserver.length === 0) throw new MalformedSyncTokenError();
  return { positions: decodeSyncToken(`m1_${fields.join('_')}`), homeserver };
}
