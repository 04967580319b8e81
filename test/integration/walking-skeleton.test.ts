import { describe, expect, it } from 'vitest';
import { parkLongPoll } from '../support/long-polls.js';
import { profileFilter, registerUser, request, USERS } from '../support/matrix-client.js';

/**
 * The thin path through all three real processes, the broker and the database:
 * register (writer, PostgreSQL) → PUT profile field (writer → Kafka) → projector (Kafka →
 * PostgreSQL, NOTIFY) → /sync (sync API), all through the one client-facing URL.
 */
describe('walking skeleton', () => {
  it('advertises MSC4429 in /versions', async () => {
    const response = await request('GET', '/_matrix/client/versions');
    expect(response.status).toBe(200);
    expect(response.body['unstable_features']).toMatchObject({ 'org.matrix.msc4429': true });
  });

  it("delivers the user's own profile update to a parked /sync, then in initial syncs", async () => {
    const alice = await registerUser('alice');
    const first = await request<{ next_batch: string }>('GET', `/_matrix/client/v3/sync?filter=${profileFilter('m.tz')}`, {
      token: alice.accessToken,
    });
    expect(first.status).toBe(200);
    expect(first.body.next_batch).toMatch(/^m1_/);
    expect(first.body).not.toHaveProperty(USERS);

    // Written only once the sync API shows the long-poll parked: only a wake-up can bring it the change.
    const parked = await parkLongPoll(() =>
      request<Record<string, unknown> & { next_batch: string }>(
        'GET',
        `/_matrix/client/v3/sync?timeout=120000&since=${first.body.next_batch}&filter=${profileFilter('m.tz')}`,
        { token: alice.accessToken },
      ),
    );
    const put = await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/m.tz`, {
      token: alice.accessToken,
      body: { 'm.tz': 'Europe/Paris' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({});

    const woken = await parked.answer;
    expect(woken.status).toBe(200);
    expect(woken.body[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } } });
    expect(woken.body.next_batch).not.toBe(first.body.next_batch);

    // Nothing new since: an immediate incremental sync carries no users section.
    const idle = await request('GET', `/_matrix/client/v3/sync?timeout=0&since=${woken.body.next_batch}&filter=${profileFilter('m.tz')}`, {
      token: alice.accessToken,
    });
    expect(idle.status).toBe(200);
    expect(idle.body).not.toHaveProperty(USERS);

    const initial = await request('GET', `/_matrix/client/v3/sync?filter=${profileFilter('m.tz', 'm.status')}`, {
      token: alice.accessToken,
    });
    expect(initial.body[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } } });

    const unfiltered = await request('GET', '/_matrix/client/v3/sync', { token: alice.accessToken });
    expect(unfiltered.body).not.toHaveProperty(USERS);
  });
});

describe('Matrix HTTP conventions', () => {
  it('answers unknown paths with 404 and known paths with a wrong method with 405, both M_UNRECOGNIZED', async () => {
    const unknown = await request('GET', '/_matrix/client/v3/no-such-endpoint');
    expect(unknown.status).toBe(404);
    expect(unknown.body['errcode']).toBe('M_UNRECOGNIZED');
    const wrongMethod = await request('DELETE', '/_matrix/client/v3/register');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body['errcode']).toBe('M_UNRECOGNIZED');
  });

  it('parses bodies as JSON whatever the Content-Type, and rejects non-JSON with M_NOT_JSON', async () => {
    const alice = await registerUser('alice');
    const path = `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/m.tz`;
    const textPlain = await request('PUT', path, {
      token: alice.accessToken,
      rawBody: '{"m.tz":"UTC"}',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(textPlain.status).toBe(200);
    const notJson = await request('PUT', path, {
      token: alice.accessToken,
      rawBody: '{nope',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body['errcode']).toBe('M_NOT_JSON');
  });

  it('requires a valid access token', async () => {
    const missing = await request('GET', '/_matrix/client/v3/sync');
    expect(missing.status).toBe(401);
    expect(missing.body['errcode']).toBe('M_MISSING_TOKEN');
    const unknown = await request('GET', '/_matrix/client/v3/sync', { token: 'mxp1_not-a-token' });
    expect(unknown.status).toBe(401);
    expect(unknown.body['errcode']).toBe('M_UNKNOWN_TOKEN');
    const alice = await registerUser('alice');
    const viaQuery = await request('GET', `/_matrix/client/v3/sync?access_token=${alice.accessToken}`);
    expect(viaQuery.status).toBe(200);
  });

  it("forbids changing another user's profile", async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const response = await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(bob.userId)}/m.tz`, {
      token: alice.accessToken,
      body: { 'm.tz': 'UTC' },
    });
    expect(response.status).toBe(403);
    expect(response.body['errcode']).toBe('M_FORBIDDEN');
  });

  it('answers a malformed since token with 400 M_INVALID_PARAM', async () => {
    const alice = await registerUser('alice');
    const response = await request('GET', '/_matrix/client/v3/sync?since=garbage', { token: alice.accessToken });
    expect(response.status).toBe(400);
    expect(response.body['errcode']).toBe('M_INVALID_PARAM');
  });

  it('answers CORS preflights without authentication', async () => {
    const response = await fetch(`${(await import('vitest')).inject('stack').baseUrl}/_matrix/client/v3/sync`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toContain('Authorization');
  });
});
