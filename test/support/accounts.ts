import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { CLIENT_V3, type MatrixResponse, request } from './matrix-client.js';
import { ServiceProcess } from './service-process.js';

/** Helpers for the account (login/logout/whoami) and profile integration tests; users come from registerUser (matrix-client.ts). */
// Defined in matrix-client.ts (registerUser needs them there); re-exported for the tests that import them from here.
export { CLIENT_V3, PASSWORD } from './matrix-client.js';

const root = join(import.meta.dirname, '..', '..');

/** Asserts a Matrix error: the status, the errcode, and a string `error` (the body is shown on failure). */
export function expectMatrixError(response: MatrixResponse<unknown>, status: number, errcode: string): void {
  const body = (response.body ?? {}) as Record<string, unknown>;
  expect(
    { status: response.status, errcode: body['errcode'], error: typeof body['error'] },
    `${response.status} ${JSON.stringify(response.body)}`,
  ).toEqual({ status, errcode, error: 'string' });
}

/** Asserts the status, showing the body on failure. */
export function expectStatus(response: MatrixResponse<unknown>, status: number): void {
  expect(response.status, `${response.status} ${JSON.stringify(response.body)}`).toBe(status);
}

export interface LoginBody {
  readonly user_id: string;
  readonly access_token: string;
  readonly device_id: string;
}

/** Password login by localpart through `m.id.user`. */
export function passwordLogin(user: string, password: string, extra: Record<string, unknown> = {}): Promise<MatrixResponse<LoginBody>> {
  return request<LoginBody>('POST', `${CLIENT_V3}/login`, {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, ...extra },
  });
}

export function whoami(token: string): Promise<MatrixResponse> {
  return request('GET', `${CLIENT_V3}/account/whoami`, { token });
}

/** `/_matrix/client/v3/profile/{userId}[/{key}]`, both path segments URL-encoded. */
export function profilePath(userId: string, key?: string): string {
  const base = `${CLIENT_V3}/profile/${encodeURIComponent(userId)}`;
  return key === undefined ? base : `${base}/${encodeURIComponent(key)}`;
}

/** An extra writer process (e.g. another registration mode) on its own port, sharing the stack's database and topics. */
export function extraWriter(name: string, portOffset: number, env: Record<string, string>): ServiceProcess {
  return extraService('writer', name, portOffset, env);
}

/** Another process of one of the services (same topics, database and consumer group), on portBase + portOffset. */
export function extraService(
  service: 'writer' | 'projector' | 'sync-api',
  name: string,
  portOffset: number,
  env: Record<string, string> = {},
): ServiceProcess {
  const stack = inject('stack');
  const port = stack.portBase + portOffset;
  return new ServiceProcess(
    name,
    join(root, `dist/apps/${service}/src/main.js`),
    { ...stack.env, MX_HTTP_PORT: String(port), ...env },
    join(stack.logDir, `${name}.log`),
    `http://127.0.0.1:${port}`,
  );
}

/** Starts `services` before the file's first test (all at once, each ready) and stops them after its last. */
export function runDuringFile(...services: ServiceProcess[]): void {
  beforeAll(async () => {
    for (const service of services) service.start();
    await Promise.all(services.map((service) => service.waitReady()));
  }, 90_000);
  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
  }, 30_000);
}
