import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { MatrixError, MatrixErrors } from '@mx/matrix';
import type { AuthenticationDataDto } from './register-request.dto.js';
import { UiaSessionStore } from './uia-session.store.js';

export const DUMMY_STAGE = 'm.login.dummy';
export const REGISTRATION_TOKEN_STAGE = 'm.login.registration_token';

function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * User-Interactive Auth for registration, by registration mode: `open` needs the
 * `m.login.dummy` stage, `token` the `m.login.registration_token` stage with the operator's
 * shared secret, `disabled` refuses everyone.
 */
@Injectable()
export class RegistrationGate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: UiaSessionStore,
  ) {}

  assertEnabled(): void {
    if (this.config.registration.mode === 'disabled') throw MatrixErrors.forbidden('Registration is disabled');
  }

  tokenIsValid(token: string): boolean {
    const secret = this.config.registration.sharedSecret;
    return this.config.registration.mode === 'token' && secret !== undefined && sameSecret(token, secret);
  }

  /** Returns when `auth` completes the flow; otherwise throws the 401 (or 400) the client needs. */
  async authenticate(auth: AuthenticationDataDto | undefined): Promise<void> {
    this.assertEnabled();
    const stage = this.config.registration.mode === 'token' ? REGISTRATION_TOKEN_STAGE : DUMMY_STAGE;
    if (!auth) throw await this.challenge(stage);
    if (auth.type !== stage) throw await this.challenge(stage, auth.session, 'M_FORBIDDEN', `Stage ${auth.type} is not offered`);
    if (stage === REGISTRATION_TOKEN_STAGE && (auth.token === undefined || !this.tokenIsValid(auth.token))) {
      throw await this.challenge(stage, auth.session, 'M_FORBIDDEN', 'Invalid registration token');
    }
    if (auth.session !== undefined && !(await this.sessions.complete(auth.session))) {
      throw new MatrixError(400, 'M_UNKNOWN', 'Unknown or already completed session');
    }
  }

  /** The UIA 401 body: flows, params and a session (a new one when the old one was used up). */
  private async challenge(stage: string, session?: string, errcode?: string, error?: string): Promise<MatrixError> {
    const body = { flows: [{ stages: [stage] }], params: {}, session: session ?? (await this.sessions.create()), completed: [] };
    return new UiaChallenge(body, errcode, error);
  }
}

/** A 401 whose body is a UIA challenge; `errcode` only when a stage failed, as the spec shows. */
export class UiaChallenge extends MatrixError {
  constructor(
    private readonly challenge: Record<string, unknown>,
    private readonly failure?: string,
    message = 'Authentication required',
  ) {
    super(401, failure ?? 'M_FORBIDDEN', message);
  }

  override toBody(): Record<string, unknown> {
    return this.failure ? { ...this.challenge, errcode: this.failure, error: this.message } : { ...this.challenge };
  }
}
