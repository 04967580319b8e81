/**
 * The hostile requests of issue 12, as data: each case builds the raw HTTP requests it sends (the
 * bodies are written as JSON text by hand, so NUL escapes, lone surrogates, 1e400 and 10,000-deep
 * nesting reach the server exactly as an attacker would send them) and says which statuses are
 * right. Pure: the scenario (scenarios/hostile.ts) sends them and tallies the answers.
 */

export interface HostileRequest {
  readonly method: string;
  /** Path and query, already encoded (sent as is). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
}

export interface HostileActor {
  readonly userId: string;
  readonly token: string;
}

export interface CaseEnv {
  /** The user sending the request (rotates over the scenario's users). */
  readonly user: HostileActor;
  /** The one user who uploads every large filter ("one user, repeatedly"). */
  readonly filterUser: HostileActor;
  /** A room `user` is allowed to invite into, with its creator (who sends the invite). */
  readonly room: { readonly roomId: string; readonly creator: HostileActor };
  readonly serverName: string;
  /** Unique per case run (run tag + sequence): fresh usernames, unique filters. */
  readonly tag: string;
}

export interface HostileCase {
  readonly name: string;
  readonly what: string;
  /** Relative share of the mix among the cases allowed to start. */
  readonly weight: number;
  /** At most one start per this many ms (heavy or rate-limited cases); 0 = no limit. */
  readonly everyMs: number;
  /** The requests of one run of the case; more than one is a burst, sent at once. */
  readonly build: (env: CaseEnv) => HostileRequest[];
  readonly expect: (status: number) => boolean;
  /** The expectation in words, for the report. */
  readonly expectation: string;
}

/** The profile field the hostile profile writes aim at (never the benchmark's own field). */
export const HOSTILE_FIELD = 'com.example.hostile';

/** JSON text of an array nested `depth` deep: [[[ … ]]]. */
export function deepArray(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** JSON text of an object nested `depth` deep: {"a":{"a":…1…}}. */
export function deepObject(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

const DEPTH = 10_000;
const q = (text: string) => encodeURIComponent(text);
const profilePath = (userId: string, key: string) => `/_matrix/client/v3/profile/${q(userId)}/${q(key)}`;
const is4xx = (status: number) => status >= 400 && status < 500;
const not5xx = (status: number) => status > 0 && status < 500;

/** A fresh, valid localpart for registration attempts (lower case, digits, dashes). */
export function freshLocalpart(tag: string, i: number): string {
  return `${tag.toLowerCase().replace(/[^a-z0-9-]/g, '')}-r${i}`;
}

/** An uploadable filter of about `bytes` bytes (a long `room.rooms` list), unique per tag. */
export function bigFilter(bytes: number, tag: string, serverName: string): string {
  const ids: string[] = [];
  let size = 120;
  for (let i = 0; size < bytes; i += 1) {
    const id = `"!${tag}x${String(i).padStart(6, '0')}abcdefghijklmnopqrstuvwxyz:${serverName}"`;
    ids.push(id);
    size += id.length + 1;
  }
  return `{"room":{"rooms":[${ids.join(',')}]},"org.matrix.msc4429.profile_fields":{"ids":["${HOSTILE_FIELD}"]}}`;
}

function invites(count: number, tag: string, serverName: string): string {
  return Array.from({ length: count }, (_, i) => `"@${tag}-i${i}:${serverName}"`).join(',');
}

function profilePut(name: string, what: string, build: (env: CaseEnv) => { key: string; body: string }, weight = 3): HostileCase {
  return {
    name,
    what,
    weight,
    everyMs: 0,
    build: (env) => {
      const { key, body } = build(env);
      return [{ method: 'PUT', path: profilePath(env.user.userId, key), token: env.user.token, body }];
    },
    expect: is4xx,
    expectation: '4xx',
  };
}

function createRoom(name: string, what: string, body: (env: CaseEnv) => string, weight: number, everyMs: number): HostileCase {
  return {
    name,
    what,
    weight,
    everyMs,
    build: (env) => [{ method: 'POST', path: '/_matrix/client/v3/createRoom', token: env.user.token, body: body(env) }],
    expect: is4xx,
    expectation: '4xx',
  };
}

/** Every hostile case of the mix (issue 12 §1–§5). */
export const HOSTILE_CASES: readonly HostileCase[] = [
  // §1 and §2: values the projection cannot store, and inputs that used to answer 500.
  profilePut('profile-nul', 'profile PUT, NUL in the value', () => ({ key: HOSTILE_FIELD, body: `{"${HOSTILE_FIELD}":"a\\u0000b"}` })),
  profilePut('profile-nul-in-key', 'profile PUT, NUL in a key of the value', () => ({
    key: HOSTILE_FIELD,
    body: `{"${HOSTILE_FIELD}":{"a\\u0000b":1}}`,
  })),
  profilePut('profile-lone-surrogate', 'profile PUT, lone surrogate \\ud800 in the value', () => ({
    key: HOSTILE_FIELD,
    body: `{"${HOSTILE_FIELD}":"x\\ud800y"}`,
  })),
  profilePut('profile-1e400', 'profile PUT, number 1e400 (beyond IEEE-754 double)', () => ({
    key: HOSTILE_FIELD,
    body: `{"${HOSTILE_FIELD}":1e400}`,
  })),
  profilePut(
    'profile-deep',
    'profile PUT, value nested 10,000 deep',
    () => ({ key: HOSTILE_FIELD, body: `{"${HOSTILE_FIELD}":${deepArray(DEPTH)}}` }),
    2,
  ),
  profilePut('profile-key-constructor', 'profile PUT of key `constructor`, body {}', () => ({ key: 'constructor', body: '{}' })),
  profilePut('profile-key-proto', 'profile PUT of key `__proto__`', () => ({ key: '__proto__', body: '{"__proto__":"x"}' })),
  profilePut('profile-body-proto', 'profile PUT whose body has only `__proto__` / `constructor` keys', () => ({
    key: HOSTILE_FIELD,
    body: `{"__proto__":{"${HOSTILE_FIELD}":"polluted"},"constructor":{"prototype":{"polluted":true}}}`,
  })),
  profilePut('displayname-nul', 'displayname with NUL', () => ({ key: 'displayname', body: '{"displayname":"a\\u0000b"}' })),
  createRoom('createroom-nul-name', 'createRoom, NUL in the name', () => '{"preset":"private_chat","name":"a\\u0000b"}', 2, 0),
  createRoom('createroom-surrogate-topic', 'createRoom, lone surrogate in the topic', () => '{"topic":"\\udc00"}', 1, 0),
  createRoom('createroom-deep', 'createRoom, creation_content nested 10,000 deep', () => `{"creation_content":${deepObject(DEPTH)}}`, 1, 0),
  createRoom(
    'createroom-3000-invites',
    'createRoom inviting 3,000 users',
    (env) => `{"preset":"private_chat","invite":[${invites(3000, env.tag, env.serverName)}]}`,
    1,
    4000,
  ),
  createRoom(
    'createroom-6000-invites-trusted',
    'createRoom, trusted_private_chat, 6,000 invites',
    (env) => `{"preset":"trusted_private_chat","invite":[${invites(6000, env.tag, env.serverName)}]}`,
    1,
    8000,
  ),
  {
    name: 'invite-reason-nul',
    what: 'invite with NUL in the reason',
    weight: 1,
    everyMs: 0,
    build: (env) => [
      {
        method: 'POST',
        path: `/_matrix/client/v3/rooms/${q(env.room.roomId)}/invite`,
        token: env.room.creator.token,
        body: `{"user_id":"@${env.tag}-nobody:${env.serverName}","reason":"a\\u0000b"}`,
      },
    ],
    expect: is4xx,
    expectation: '4xx',
  },
  // §4: one user uploading ~250 KB filters again and again.
  {
    name: 'filter-250kb',
    what: 'filter of ~250 KB uploaded by one user, again and again',
    weight: 3,
    everyMs: 250,
    build: (env) => [
      {
        method: 'POST',
        path: `/_matrix/client/v3/user/${q(env.filterUser.userId)}/filter`,
        token: env.filterUser.token,
        body: bigFilter(250_000, env.tag, env.serverName),
      },
    ],
    expect: not5xx,
    expectation: '2xx or 4xx (a size cap may refuse it)',
  },
  {
    name: 'filter-deep',
    what: 'filter nested 10,000 deep',
    weight: 1,
    everyMs: 0,
    build: (env) => [
      {
        method: 'POST',
        path: `/_matrix/client/v3/user/${q(env.filterUser.userId)}/filter`,
        token: env.filterUser.token,
        body: `{"room":${deepObject(DEPTH)}}`,
      },
    ],
    expect: is4xx,
    expectation: '4xx',
  },
  {
    name: 'sync-filter-nul',
    what: '/sync?filter=a%00b',
    weight: 2,
    everyMs: 0,
    build: (env) => [{ method: 'GET', path: '/_matrix/client/v3/sync?filter=a%00b&timeout=0', token: env.user.token }],
    expect: is4xx,
    expectation: '4xx',
  },
  {
    name: 'sync-inline-filter-nul',
    what: '/sync with an inline filter naming a room ID with NUL',
    weight: 1,
    everyMs: 0,
    build: (env) => [
      {
        method: 'GET',
        path: `/_matrix/client/v3/sync?timeout=0&filter=${q('{"room":{"rooms":["!a\\u0000b:x"]}}')}`,
        token: env.user.token,
      },
    ],
    expect: not5xx,
    expectation: '2xx or 4xx',
  },
  // §3: what the router answers itself.
  {
    name: 'body-over-1mib',
    what: 'profile PUT with a 1.1 MiB body',
    weight: 1,
    everyMs: 500,
    build: (env) => [
      {
        method: 'PUT',
        path: profilePath(env.user.userId, HOSTILE_FIELD),
        token: env.user.token,
        body: `{"${HOSTILE_FIELD}":"${'a'.repeat(1_153_434)}"}`,
      },
    ],
    expect: (status) => status === 413,
    expectation: '413',
  },
  {
    name: 'uri-too-large',
    what: 'request line of ~16 KB',
    weight: 1,
    everyMs: 0,
    build: (env) => [{ method: 'GET', path: `${profilePath(env.user.userId, HOSTILE_FIELD)}?pad=${'a'.repeat(16_384)}` }],
    expect: is4xx,
    expectation: '4xx (414)',
  },
  {
    name: 'query-param-over-2048',
    what: '/sync with a 3,000-character filter parameter',
    weight: 1,
    everyMs: 0,
    build: (env) => [{ method: 'GET', path: `/_matrix/client/v3/sync?timeout=0&filter=${'a'.repeat(3000)}`, token: env.user.token }],
    expect: is4xx,
    expectation: '4xx',
  },
  {
    name: 'header-too-large',
    what: 'a 32 KB request header',
    weight: 1,
    everyMs: 0,
    build: () => [{ method: 'GET', path: '/_matrix/client/versions', headers: { 'X-Pad': 'a'.repeat(32_768) } }],
    expect: is4xx,
    expectation: '4xx (431 or 400)',
  },
  {
    name: 'path-nul',
    what: '%00 in the path',
    weight: 1,
    everyMs: 0,
    build: () => [{ method: 'GET', path: '/_matrix/client/v3/profile/%00/displayname' }],
    expect: is4xx,
    expectation: '4xx',
  },
  {
    name: 'path-bad-utf8',
    what: 'invalid UTF-8 (%FF) in the path',
    weight: 1,
    everyMs: 0,
    build: () => [{ method: 'GET', path: '/_matrix/client/v3/profile/%40%FF:localhost' }],
    expect: is4xx,
    expectation: '4xx',
  },
  {
    name: 'trace',
    what: 'TRACE',
    weight: 1,
    everyMs: 0,
    build: () => [{ method: 'TRACE', path: '/_matrix/client/versions' }],
    expect: (status) => status === 405,
    expectation: '405',
  },
  {
    name: 'options-plain',
    what: 'OPTIONS without preflight headers',
    weight: 1,
    everyMs: 0,
    build: () => [{ method: 'OPTIONS', path: '/_matrix/client/v3/sync' }],
    expect: not5xx,
    expectation: '2xx or 4xx',
  },
  // §4: unauthenticated endpoints in bursts (the rate limits should answer 429).
  {
    name: 'login-wrong-password-burst',
    what: 'burst of 6 logins with a wrong password (one account)',
    weight: 2,
    everyMs: 1500,
    build: (env) =>
      Array.from({ length: 6 }, () => ({
        method: 'POST',
        path: '/_matrix/client/v3/login',
        body: `{"type":"m.login.password","identifier":{"type":"m.id.user","user":${JSON.stringify(env.user.userId)}},"password":"wrong-${env.tag}"}`,
      })),
    expect: (status) => status === 403 || status === 429,
    expectation: '403 or 429',
  },
  {
    name: 'login-nul-user',
    what: 'login with NUL in identifier.user',
    weight: 1,
    everyMs: 0,
    build: () => [
      {
        method: 'POST',
        path: '/_matrix/client/v3/login',
        body: '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"a\\u0000b"},"password":"x"}',
      },
    ],
    expect: is4xx,
    expectation: '4xx',
  },
  {
    name: 'register-burst',
    what: 'burst of 6 registrations of fresh usernames',
    weight: 1,
    everyMs: 4000,
    build: (env) =>
      Array.from({ length: 6 }, (_, i) => ({
        method: 'POST',
        path: '/_matrix/client/v3/register',
        body: `{"username":"${freshLocalpart(env.tag, i)}","password":"hostile-${env.tag}","auth":{"type":"m.login.dummy"}}`,
      })),
    expect: not5xx,
    expectation: '200 until the limit, then 429',
  },
  {
    name: 'register-nul-device',
    what: 'registration with NUL in device_id and initial_device_display_name',
    weight: 1,
    everyMs: 0,
    build: (env) => [
      {
        method: 'POST',
        path: '/_matrix/client/v3/register',
        body: `{"username":"${freshLocalpart(env.tag, 99)}","password":"x-${env.tag}","device_id":"a\\u0000b","initial_device_display_name":"c\\u0000d","auth":{"type":"m.login.dummy"}}`,
      },
    ],
    expect: is4xx,
    expectation: '4xx',
  },
  {
    name: 'register-deep',
    what: 'registration body nested 10,000 deep',
    weight: 1,
    everyMs: 0,
    build: () => [{ method: 'POST', path: '/_matrix/client/v3/register', body: `{"auth":${deepObject(DEPTH)}}` }],
    expect: is4xx,
    expectation: '4xx',
  },
  // §5: a valid header token together with a bogus query token.
  {
    name: 'token-header-and-query',
    what: 'valid Authorization header plus a bogus ?access_token=',
    weight: 1,
    everyMs: 0,
    build: (env) => [{ method: 'GET', path: `/_matrix/client/v3/account/whoami?access_token=bogus-${env.tag}`, token: env.user.token }],
    expect: is4xx,
    expectation: '4xx (a request carrying both is refused)',
  },
];

/**
 * The case to start now: a weighted choice (`random` uniform in [0, 1)) among the cases whose
 * `everyMs` has passed since their last start; undefined when none may start yet.
 */
export function pickCase(
  cases: readonly HostileCase[],
  lastStart: ReadonlyMap<string, number>,
  t: number,
  random: number,
): HostileCase | undefined {
  const eligible = cases.filter((c) => c.weight > 0 && (c.everyMs === 0 || t - (lastStart.get(c.name) ?? -Infinity) >= c.everyMs));
  const total = eligible.reduce((sum, c) => sum + c.weight, 0);
  if (total === 0) return undefined;
  let point = random * total;
  for (const c of eligible) {
    point -= c.weight;
    if (point < 0) return c;
  }
  return eligible.at(-1);
}
