import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_V3, PASSWORD, expectMatrixError, expectStatus, extraWriter, passwordLogin, whoami } from '../support/accounts.js';
import { registerUser, request, uniqueLocalpart } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * Accounts through the router: registration (UIA in open, token and disabled modes), username
 * availability, password login, whoami, logout. Every test uses its own users.
 */
const SERVER = 'test.local';

interface UiaBody {
  flows?: { stages: string[] }[];
  params?: unknown;
  session?: unknown;
  errcode?: string;
  error?: unknown;
}

interface RegisterBody {
  user_id?: string;
  access_token?: string;
  device_id?: string;
}

function register<T = RegisterBody>(body: unknown, options: { baseUrl?: string; query?: string } = {}) {
  return request<T>('POST', `${CLIENT_V3}/register${options.query ?? ''}`, {
    body,
    ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
  });
}

function available(username: string | undefined, baseUrl?: string) {
  const query = username === undefined ? '' : `?username=${encodeURIComponent(username)}`;
  return request('GET', `${CLIENT_V3}/register/available${query}`, baseUrl === undefined ? {} : { baseUrl });
}

function expectLoggedIn(body: RegisterBody, userId: string): void {
  expect(body.user_id).toBe(userId);
  expect(typeof body.access_token).toBe('string');
  expect(body.access_token).not.toBe('');
  expect(typeof body.device_id).toBe('string');
  expect(body.device_id).not.toBe('');
}

describe('registration (open mode)', () => {
  it('answers a request without auth with a 401 UIA challenge offering m.login.dummy, and creates no account', async () => {
    const username = uniqueLocalpart('uia');
    const challenge = await register<UiaBody>({ username, password: PASSWORD });
    expectStatus(challenge, 401);
    expect(challenge.body.flows).toEqual(expect.arrayContaining([{ stages: ['m.login.dummy'] }]));
    expect(challenge.body.params).toBeTypeOf('object');
    expect(challenge.body.params).not.toBeNull();
    expect(challenge.body.session).toBeTypeOf('string');

    const stillFree = await available(username);
    expectStatus(stillFree, 200);
    expect(stillFree.body).toEqual({ available: true });

    const done = await register({ username, password: PASSWORD, auth: { type: 'm.login.dummy', session: challenge.body.session } });
    expectStatus(done, 200);
    expectLoggedIn(done.body, `@${username}:${SERVER}`);
    const me = await whoami(done.body.access_token!);
    expectStatus(me, 200);
    expect(me.body).toEqual({ user_id: `@${username}:${SERVER}`, device_id: done.body.device_id, is_guest: false });
  });

  it('registers straight away with m.login.dummy and no session', async () => {
    const username = uniqueLocalpart('dummy');
    const response = await register({ username, password: PASSWORD, auth: { type: 'm.login.dummy' } });
    expectStatus(response, 200);
    expectLoggedIn(response.body, `@${username}:${SERVER}`);
  });

  it('rejects an unknown UIA session with 400 M_UNKNOWN', async () => {
    const username = uniqueLocalpart('nosession');
    const response = await register({ username, password: PASSWORD, auth: { type: 'm.login.dummy', session: 'no-such-session-xyz' } });
    expectMatrixError(response, 400, 'M_UNKNOWN');
    expect((await available(username)).body).toEqual({ available: true });
  });

  it('does not accept a completed UIA session a second time', async () => {
    const challenge = await register<UiaBody>({ username: uniqueLocalpart('reuse'), password: PASSWORD });
    expectStatus(challenge, 401);
    const auth = { type: 'm.login.dummy', session: challenge.body.session };
    const first = await register({ username: uniqueLocalpart('reuse'), password: PASSWORD, auth });
    expectStatus(first, 200);
    const secondName = uniqueLocalpart('reuse');
    const second = await register<UiaBody>({ username: secondName, password: PASSWORD, auth });
    expectStatus(second, 400);
    expect(second.body.errcode).toBeTypeOf('string');
    expect(second.body.error).toBeTypeOf('string');
    expect((await available(secondName)).body).toEqual({ available: true });
  });

  it.each([
    ['uppercase letters', `Alice-${Date.now().toString(36)}`],
    ['a colon', 'a:b'],
    ['a non-ASCII letter', 'é'],
    ['the empty string', ''],
  ])('rejects a username with %s with 400 M_INVALID_USERNAME', async (_label, username) => {
    const response = await register({ username, password: PASSWORD, auth: { type: 'm.login.dummy' } });
    expectMatrixError(response, 400, 'M_INVALID_USERNAME');
  });

  it('rejects a taken username with 400 M_USER_IN_USE, before user-interactive auth', async () => {
    const taken = await registerUser('taken');
    const withoutAuth = await register({ username: taken.username, password: PASSWORD });
    expectMatrixError(withoutAuth, 400, 'M_USER_IN_USE');
    const withAuth = await register({ username: taken.username, password: PASSWORD, auth: { type: 'm.login.dummy' } });
    expectMatrixError(withAuth, 400, 'M_USER_IN_USE');
  });

  it('generates a user ID when the username is omitted', async () => {
    const first = await register({ password: PASSWORD, auth: { type: 'm.login.dummy' } });
    expectStatus(first, 200);
    expect(first.body.user_id).toMatch(/^@[a-z0-9._=\-/+]+:test\.local$/);
    expect(first.body.access_token).toBeTypeOf('string');
    const second = await register({ password: PASSWORD, auth: { type: 'm.login.dummy' } });
    expectStatus(second, 200);
    expect(second.body.user_id).not.toBe(first.body.user_id);
    const me = await whoami(first.body.access_token!);
    expect(me.body['user_id']).toBe(first.body.user_id);
  });

  it('returns only the user_id with inhibit_login, and the account can log in', async () => {
    const username = uniqueLocalpart('inhibit');
    const response = await register({ username, password: PASSWORD, inhibit_login: true, auth: { type: 'm.login.dummy' } });
    expectStatus(response, 200);
    expect(response.body.user_id).toBe(`@${username}:${SERVER}`);
    expect(response.body).not.toHaveProperty('access_token');
    expect(response.body).not.toHaveProperty('device_id');
    const login = await passwordLogin(username, PASSWORD);
    expectStatus(login, 200);
    expect(login.body.user_id).toBe(`@${username}:${SERVER}`);
  });

  it('uses the device_id the client asks for and accepts initial_device_display_name', async () => {
    const username = uniqueLocalpart('device');
    const response = await register({
      username,
      password: PASSWORD,
      device_id: 'MYDEVICE',
      initial_device_display_name: 'Test phone',
      auth: { type: 'm.login.dummy' },
    });
    expectStatus(response, 200);
    expect(response.body.device_id).toBe('MYDEVICE');
    const me = await whoami(response.body.access_token!);
    expect(me.body).toEqual({ user_id: `@${username}:${SERVER}`, device_id: 'MYDEVICE', is_guest: false });
  });

  it('rejects a wrongly typed field with 400 M_BAD_JSON', async () => {
    const response = await register({ username: 5, password: PASSWORD, auth: { type: 'm.login.dummy' } });
    expectMatrixError(response, 400, 'M_BAD_JSON');
  });

  it('forbids guest registration with 403 M_GUEST_ACCESS_FORBIDDEN', async () => {
    const response = await register({}, { query: '?kind=guest' });
    expectMatrixError(response, 403, 'M_GUEST_ACCESS_FORBIDDEN');
  });
});

describe('GET /register/available', () => {
  it('answers {available: true} for a free username', async () => {
    const response = await available(uniqueLocalpart('free'));
    expectStatus(response, 200);
    expect(response.body).toEqual({ available: true });
  });

  it('answers 400 M_USER_IN_USE for a taken username', async () => {
    const taken = await registerUser('taken');
    expectMatrixError(await available(taken.username), 400, 'M_USER_IN_USE');
  });

  it('answers 400 M_INVALID_USERNAME for an invalid username', async () => {
    expectMatrixError(await available('Not:Valid'), 400, 'M_INVALID_USERNAME');
  });

  it('answers 400 M_MISSING_PARAM without a username', async () => {
    expectMatrixError(await available(undefined), 400, 'M_MISSING_PARAM');
  });
});

describe('registration (token mode)', () => {
  const writer = extraWriter('writer-token', PORT_OFFSETS.accounts.tokenWriter, {
    MX_REGISTRATION_MODE: 'token',
    MX_REGISTRATION_SHARED_SECRET: 'let-me-in',
  });
  const baseUrl = writer.url;

  beforeAll(async () => {
    writer.start();
    await writer.waitReady();
  });
  afterAll(async () => {
    await writer.stop();
  });

  it('challenges with the m.login.registration_token stage and registers with the right token', async () => {
    const username = uniqueLocalpart('token');
    const challenge = await register<UiaBody>({ username, password: PASSWORD }, { baseUrl });
    expectStatus(challenge, 401);
    expect(challenge.body.flows).toEqual([{ stages: ['m.login.registration_token'] }]);
    expect(challenge.body.session).toBeTypeOf('string');

    const done = await register(
      { username, password: PASSWORD, auth: { type: 'm.login.registration_token', token: 'let-me-in', session: challenge.body.session } },
      { baseUrl },
    );
    expectStatus(done, 200);
    expectLoggedIn(done.body, `@${username}:${SERVER}`);
  });

  it('answers a wrong token with 401 M_FORBIDDEN and the flows again', async () => {
    const username = uniqueLocalpart('badtoken');
    const challenge = await register<UiaBody>({ username, password: PASSWORD }, { baseUrl });
    expectStatus(challenge, 401);
    const wrong = await register<UiaBody>(
      { username, password: PASSWORD, auth: { type: 'm.login.registration_token', token: 'wrong', session: challenge.body.session } },
      { baseUrl },
    );
    expectMatrixError(wrong, 401, 'M_FORBIDDEN');
    expect(wrong.body.flows).toEqual([{ stages: ['m.login.registration_token'] }]);
    expect((await available(username)).body).toEqual({ available: true });
  });

  it('does not accept m.login.dummy', async () => {
    const username = uniqueLocalpart('tokendummy');
    const response = await register<UiaBody>({ username, password: PASSWORD, auth: { type: 'm.login.dummy' } }, { baseUrl });
    expectStatus(response, 401);
    expect(response.body.flows).toEqual([{ stages: ['m.login.registration_token'] }]);
    expect((await available(username)).body).toEqual({ available: true });
  });

  it('tells whether a registration token is valid', async () => {
    const valid = await request('GET', `${CLIENT_V3}/register/m.login.registration_token/validity?token=let-me-in`, { baseUrl });
    expectStatus(valid, 200);
    expect(valid.body).toEqual({ valid: true });
    const invalid = await request('GET', `${CLIENT_V3}/register/m.login.registration_token/validity?token=nope`, { baseUrl });
    expectStatus(invalid, 200);
    expect(invalid.body).toEqual({ valid: false });
  });
});

describe('registration (disabled mode)', () => {
  const writer = extraWriter('writer-disabled', PORT_OFFSETS.accounts.disabledWriter, { MX_REGISTRATION_MODE: 'disabled' });
  const baseUrl = writer.url;

  beforeAll(async () => {
    writer.start();
    await writer.waitReady();
  });
  afterAll(async () => {
    await writer.stop();
  });

  it('answers POST /register with 403 M_FORBIDDEN', async () => {
    const withoutAuth = await register({ username: uniqueLocalpart('closed'), password: PASSWORD }, { baseUrl });
    expectMatrixError(withoutAuth, 403, 'M_FORBIDDEN');
    const withAuth = await register(
      { username: uniqueLocalpart('closed'), password: PASSWORD, auth: { type: 'm.login.dummy' } },
      { baseUrl },
    );
    expectMatrixError(withAuth, 403, 'M_FORBIDDEN');
  });

  it('answers GET /register/available with 403 M_FORBIDDEN', async () => {
    expectMatrixError(await available(uniqueLocalpart('closed'), baseUrl), 403, 'M_FORBIDDEN');
  });
});

describe('login', () => {
  it('offers m.login.password', async () => {
    const response = await request<{ flows: { type: string }[] }>('GET', `${CLIENT_V3}/login`);
    expectStatus(response, 200);
    expect(response.body.flows).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'm.login.password' })]));
  });

  it('logs in with m.id.user by localpart, by full user ID, and by the deprecated top-level user', async () => {
    const account = await registerUser('login');
    const byLocalpart = await passwordLogin(account.username, account.password);
    expectStatus(byLocalpart, 200);
    expectLoggedIn(byLocalpart.body, account.userId);
    expect(byLocalpart.body.device_id).not.toBe(account.deviceId);

    const byUserId = await passwordLogin(account.userId, account.password);
    expectStatus(byUserId, 200);
    expectLoggedIn(byUserId.body, account.userId);

    const deprecated = await request<RegisterBody>('POST', `${CLIENT_V3}/login`, {
      body: { type: 'm.login.password', user: account.username, password: account.password },
    });
    expectStatus(deprecated, 200);
    expectLoggedIn(deprecated.body, account.userId);

    // Each login is its own device; all of them work side by side.
    for (const token of [account.accessToken, byLocalpart.body.access_token, byUserId.body.access_token, deprecated.body.access_token!]) {
      const me = await whoami(token);
      expectStatus(me, 200);
      expect(me.body['user_id']).toBe(account.userId);
    }
    const me = await whoami(byLocalpart.body.access_token);
    expect(me.body).toEqual({ user_id: account.userId, device_id: byLocalpart.body.device_id, is_guest: false });
  });

  it('answers a wrong password and an unknown user alike with 403 M_FORBIDDEN', async () => {
    const account = await registerUser('login');
    expectMatrixError(await passwordLogin(account.username, 'wrong password'), 403, 'M_FORBIDDEN');
    expectMatrixError(await passwordLogin(uniqueLocalpart('nobody'), PASSWORD), 403, 'M_FORBIDDEN');
  });

  it('answers an unknown login type with 400 M_UNKNOWN and a missing password with 400 M_BAD_JSON', async () => {
    const account = await registerUser('login');
    const unknownType = await request('POST', `${CLIENT_V3}/login`, {
      body: { type: 'org.example.magic', identifier: { type: 'm.id.user', user: account.username }, password: account.password },
    });
    expectMatrixError(unknownType, 400, 'M_UNKNOWN');
    const noPassword = await request('POST', `${CLIENT_V3}/login`, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: account.username } },
    });
    expectMatrixError(noPassword, 400, 'M_BAD_JSON');
  });

  it("logging in with an existing device_id keeps the device and invalidates that device's old token", async () => {
    const account = await registerUser('relogin');
    const other = await passwordLogin(account.username, account.password);
    expectStatus(other, 200);

    const again = await passwordLogin(account.username, account.password, { device_id: account.deviceId });
    expectStatus(again, 200);
    expect(again.body.device_id).toBe(account.deviceId);
    expect(again.body.access_token).not.toBe(account.accessToken);

    expectMatrixError(await whoami(account.accessToken), 401, 'M_UNKNOWN_TOKEN');
    const me = await whoami(again.body.access_token);
    expectStatus(me, 200);
    expect(me.body).toEqual({ user_id: account.userId, device_id: account.deviceId, is_guest: false });
    expectStatus(await whoami(other.body.access_token), 200);
  });
});

describe('GET /account/whoami', () => {
  it('identifies the user and device by a Bearer token and by ?access_token=', async () => {
    const account = await registerUser('whoami');
    const bearer = await whoami(account.accessToken);
    expectStatus(bearer, 200);
    expect(bearer.body).toEqual({ user_id: account.userId, device_id: account.deviceId, is_guest: false });
    const query = await request('GET', `${CLIENT_V3}/account/whoami?access_token=${encodeURIComponent(account.accessToken)}`);
    expectStatus(query, 200);
    expect(query.body).toEqual({ user_id: account.userId, device_id: account.deviceId, is_guest: false });
  });

  it('answers no token with 401 M_MISSING_TOKEN and a bad one with 401 M_UNKNOWN_TOKEN', async () => {
    expectMatrixError(await request('GET', `${CLIENT_V3}/account/whoami`), 401, 'M_MISSING_TOKEN');
    expectMatrixError(await whoami('mxp1_not-a-token'), 401, 'M_UNKNOWN_TOKEN');
    expectMatrixError(await request('GET', `${CLIENT_V3}/account/whoami?access_token=not-a-token`), 401, 'M_UNKNOWN_TOKEN');
  });
});

describe('logout', () => {
  it('POST /logout invalidates only that token', async () => {
    const account = await registerUser('logout');
    const other = await passwordLogin(account.username, account.password);
    expectStatus(other, 200);

    const response = await request('POST', `${CLIENT_V3}/logout`, { token: account.accessToken, body: {} });
    expectStatus(response, 200);
    expect(response.body).toEqual({});

    expectMatrixError(await whoami(account.accessToken), 401, 'M_UNKNOWN_TOKEN');
    const still = await whoami(other.body.access_token);
    expectStatus(still, 200);
    expect(still.body['device_id']).toBe(other.body.device_id);
  });

  it('POST /logout/all invalidates every token of the user, and no one else’s', async () => {
    const account = await registerUser('logoutall');
    const second = await passwordLogin(account.username, account.password);
    const third = await passwordLogin(account.username, account.password, { device_id: 'THIRDDEVICE' });
    expectStatus(second, 200);
    expectStatus(third, 200);
    const bystander = await registerUser('bystander');

    const response = await request('POST', `${CLIENT_V3}/logout/all`, { token: second.body.access_token, body: {} });
    expectStatus(response, 200);
    expect(response.body).toEqual({});

    for (const token of [account.accessToken, second.body.access_token, third.body.access_token]) {
      expectMatrixError(await whoami(token), 401, 'M_UNKNOWN_TOKEN');
    }
    expectStatus(await whoami(bystander.accessToken), 200);
    // The password still works afterwards.
    expectStatus(await passwordLogin(account.username, account.password), 200);
  });

  it('requires a token', async () => {
    expectMatrixError(await request('POST', `${CLIENT_V3}/logout`, { body: {} }), 401, 'M_MISSING_TOKEN');
    expectMatrixError(await request('POST', `${CLIENT_V3}/logout/all`, { body: {} }), 401, 'M_MISSING_TOKEN');
  });
});
