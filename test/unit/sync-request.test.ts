import { describe, expect, it } from 'vitest';
import { MatrixError } from '@mx/matrix';
import { encodeSyncToken, type SyncPositions } from '@mx/sync';
import { parseSyncRequest } from '../../apps/sync-api/src/sync/sync-request.js';

const MAX_TIMEOUT_MS = 60_000;
const parse = (query: Record<string, unknown>) => parseSyncRequest(query, MAX_TIMEOUT_MS);

/** The Matrix error `run` throws (fails when it throws anything else, or nothing). */
function matrixErrorOf(run: () => unknown): MatrixError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MatrixError);
    return error as MatrixError;
  }
  throw new Error('expected a Matrix error');
}

describe('parseSyncRequest', () => {
  it('defaults: no since, no wait, no full state, no filter', () => {
    expect(parse({})).toEqual({ since: undefined, timeoutMs: 0, fullState: false, filter: undefined });
  });

  it('decodes since; an empty since is an initial sync', () => {
    const positions: SyncPositions = { epoch: 'abc123', profile: [0, 41, 36 ** 3], membership: [7] };
    expect(parse({ since: encodeSyncToken(positions) }).since).toEqual(positions);
    expect(parse({ since: '' }).since).toBeUndefined();
  });

  it('refuses a malformed since with 400 M_INVALID_PARAM', () => {
    for (const since of ['garbage', 'm1_abc_1', 'm2_abc_1_2', 'm1_ABC_1_2', 'm1_abc_1..2_3', 'm1_abc_-1_2']) {
      const error = matrixErrorOf(() => parse({ since }));
      expect([error.status, error.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    }
  });

  it('caps the timeout at the configured maximum', () => {
    expect(parse({ timeout: '0' }).timeoutMs).toBe(0);
    expect(parse({ timeout: '30000' }).timeoutMs).toBe(30_000);
    expect(parse({ timeout: String(MAX_TIMEOUT_MS) }).timeoutMs).toBe(MAX_TIMEOUT_MS);
    expect(parse({ timeout: '9999999999' }).timeoutMs).toBe(MAX_TIMEOUT_MS);
    expect(parseSyncRequest({ timeout: '5000' }, 1000).timeoutMs).toBe(1000);
  });

  it('refuses a timeout that is not a non-negative integer of at most 10 digits', () => {
    for (const timeout of ['', '-1', '1.5', '1e3', 'soon', ' 1', '12345678901']) {
      const error = matrixErrorOf(() => parse({ timeout }));
      expect([error.status, error.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    }
  });

  it('reads full_state as true or false only', () => {
    expect(parse({ full_state: 'true' }).fullState).toBe(true);
    expect(parse({ full_state: 'false' }).fullState).toBe(false);
    for (const fullState of ['TRUE', '1', 'yes', '']) {
      const error = matrixErrorOf(() => parse({ full_state: fullState }));
      expect([error.status, error.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    }
  });

  it('tells a stored filter id from an inline filter', () => {
    expect(parse({ filter: 'AbC-d_9' }).filter).toEqual({ id: 'AbC-d_9' });
    expect(parse({ filter: '{"room":{"timeline":{"limit":5}}}' }).filter).toEqual({ inline: { room: { timeline: { limit: 5 } } } });
    expect(parse({ filter: '' }).filter).toBeUndefined();
  });

  it('refuses inline filters that are not JSON (M_NOT_JSON), not an object or not storable (M_BAD_JSON)', () => {
    const notJson = matrixErrorOf(() => parse({ filter: '{"room":' }));
    expect([notJson.status, notJson.errcode]).toEqual([400, 'M_NOT_JSON']);
    for (const filter of ['[1,2]', '[]', '{"a":"\\u0000"}', '{"a":"\\ud800"}', '{"a":1e999}']) {
      const error = matrixErrorOf(() => parse({ filter }));
      expect([error.status, error.errcode]).toEqual([400, 'M_BAD_JSON']);
    }
  });

  it('refuses a parameter given more than once with 400 M_INVALID_PARAM', () => {
    for (const name of ['since', 'timeout', 'full_state', 'filter']) {
      const error = matrixErrorOf(() => parse({ [name]: ['a', 'b'] }));
      expect([error.status, error.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    }
  });
});
