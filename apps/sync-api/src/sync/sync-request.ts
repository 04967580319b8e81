import { findUnstorableJson, MatrixErrors } from '@mx/matrix';
import { decodeSyncToken, MalformedSyncTokenError, type SyncPositions } from '@mx/sync';

/** The query of `GET /sync`, checked. */
export interface SyncRequest {
  readonly since: SyncPositions | undefined;
  readonly timeoutMs: number;
  readonly fullState: boolean;
  /** Inline filter JSON, or the id of a stored filter. */
  readonly filter: { readonly inline: Record<string, unknown> } | { readonly id: string } | undefined;
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw MatrixErrors.invalidParam(`${name} must be given once`);
  return value;
}

export function parseSyncRequest(query: Record<string, unknown>, maxTimeoutMs: number): SyncRequest {
  const sinceText = single(query['since'], 'since');
  const timeoutText = single(query['timeout'], 'timeout');
  const fullStateText = single(query['full_state'], 'full_state');
  const filterText = single(query['filter'], 'filter');

  let since: SyncPositions | undefined;
  if (sinceText !== undefined && sinceText !== '') {
    try {
      since = decodeSyncToken(sinceText);
    } catch (error) {
      if (error instanceof MalformedSyncTokenError) throw MatrixErrors.invalidParam('Malformed since token');
      throw error;
    }
  }

  let timeoutMs = 0;
  if (timeoutText !== undefined) {
    if (!/^[0-9]{1,10}$/.test(timeoutText)) throw MatrixErrors.invalidParam('timeout must be a non-negative integer');
    timeoutMs = Math.min(Number(timeoutText), maxTimeoutMs);
  }

  if (fullStateText !== undefined && fullStateText !== 'true' && fullStateText !== 'false') {
    throw MatrixErrors.invalidParam('full_state must be true or false');
  }

  let filter: SyncRequest['filter'];
  if (filterText !== undefined && filterText !== '') {
    // Inline JSON starts with `{` (or `[`, which can only be a malformed definition); anything else is a stored filter's ID.
    if (filterText.startsWith('{') || filterText.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(filterText);
      } catch {
        throw MatrixErrors.notJson('filter is not valid JSON');
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw MatrixErrors.badJson('filter must be a JSON object');
      // The same rule as for request bodies: what could never be stored is refused, not half-matched.
      const problem = findUnstorableJson(parsed);
      if (problem !== null) throw MatrixErrors.badJson(`The filter cannot be accepted: ${problem}`);
      filter = { inline: parsed as Record<string, unknown> };
    } else {
      filter = { id: filterText };
    }
  }
  return { since, timeoutMs, fullState: fullStateText === 'true', filter };
}
