import { inject } from 'vitest';

export const CLIENT_V3 = '/_matrix/client/v3';
/** MSC4429's section of a `/sync` response, by its unstable name. */
export const USERS = 'org.matrix.msc4429.users';
/** The password of every user registerUser registers. */
export const PASSWORD = 'correct horse battery staple';

/** A bare Client-Server API client for tests: raw status and JSON body, nothing hidden. */
export interface MatrixResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export async function request<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; baseUrl?: string; headers?: Record<string, string> } = {},
): Promise<MatrixResponse<T>> {
  const baseUrl = options.baseUrl ?? inject('stack').baseUrl;
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['Authorization'] = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T, headers: response.headers };
}

let counter = 0;

/** A unique localpart per call, so test files sharing one stack never collide. */
export function uniqueLocalpart(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export interface TestUser {
  /** The localpart registered. */
  readonly username: string;
  readonly password: string;
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
}

/** Registers a fresh user (open mode, `m.login.dummy`) with a known password, logged in on one device. */
export async function registerUser(prefix = 'user'): Promise<TestUser> {
  const username = uniqueLocalpart(prefix);
  const response = await request<{ user_id: string; access_token: string; device_id: string }>('POST', `${CLIENT_V3}/register`, {
    body: { username, password: PASSWORD, auth: { type: 'm.login.dummy' } },
  });
  if (response.status !== 200) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`);
  return {
    username,
    password: PASSWORD,
    userId: response.body.user_id,
    accessToken: response.body.access_token,
    deviceId: response.body.device_id,
  };
}

export function profileFilter(...ids: string[]): string {
  return encodeURIComponent(JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids } }));
}
