import { type MatrixClient } from './matrix-client.js';
import { profileUpdates } from './profile-updates.js';

/**
 * A `since` token with nothing new behind it: an initial sync, then incremental syncs (timeout 0)
 * until one comes back unchanged and without profile updates, at most `maxRounds` syncs.
 */
export async function upToDateToken(matrix: MatrixClient, token: string, filter: string, maxRounds: number): Promise<string> {
  let since: string | undefined;
  for (let round = 0; round < maxRounds; round += 1) {
    const response = await matrix.sync(token, { filter, since, timeout: 0 });
    if (response.status !== 200) throw new Error(`sync: HTTP ${response.status}`);
    const next = String(response.body['next_batch']);
    const quiet = since !== undefined && next === since && profileUpdates(response.body).size === 0;
    since = next;
    if (quiet) break;
  }
  if (since === undefined) throw new Error('no sync was made');
  return since;
}
