/**
 * A client-facing Matrix error: `{"errcode": "M_…", "error": "…"}` with an HTTP status.
 * Everything the services reject on purpose is thrown as one of these.
 */
export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    /** Extra top-level fields of the error body, e.g. `retry_after_ms`. */
    readonly extra: Readonly<Record<string, unknown>> = {},
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'MatrixError';
  }

  toBody(): Record<string, unknown> {
    return { ...this.extra, errcode: this.errcode, error: this.message };
  }
}

/** The error constructors the services use, named after the spec's error codes. */
export const MatrixErrors = {
  unrecognized: (message = 'Unrecognized request', status = 404) => new MatrixError(status, 'M_UNRECOGNIZED', message),
  notJson: (message = 'Content not JSON.') => new MatrixError(400, 'M_NOT_JSON', message),
  badJson: (message: string) => new MatrixError(400, 'M_BAD_JSON', message),
  invalidParam: (message: string) => new MatrixError(400, 'M_INVALID_PARAM', message),
  missingParam: (message: string) => new MatrixError(400, 'M_MISSING_PARAM', message),
  tooLarge: (message = 'Request body too large') => new MatrixError(413, 'M_TOO_LARGE', message),
  keyTooLarge: (message = 'Profile field name is longer than 255 bytes') => new MatrixError(400, 'M_KEY_TOO_LARGE', message),
  profileTooLarge: (message: string) => new MatrixError(400, 'M_PROFILE_TOO_LARGE', message),
  limitExceeded: (retryAfterMs: number) =>
    new MatrixError(
      429,
      'M_LIMIT_EXCEEDED',
      'Too many requests',
      { retry_after_ms: retryAfterMs },
      { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    ),
  guestAccessForbidden: () => new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest access is not supported'),
  notFound: (message = 'Not found') => new MatrixError(404, 'M_NOT_FOUND', message),
  forbidden: (message: string) => new MatrixError(403, 'M_FORBIDDEN', message),
  missingToken: () => new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token'),
  unknownToken: (message = 'Unrecognised access token') => new MatrixError(401, 'M_UNKNOWN_TOKEN', message, { soft_logout: false }),
  invalidUsername: (message: string) => new MatrixError(400, 'M_INVALID_USERNAME', message),
  userInUse: () => new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.'),
  unavailable: (message: string) => new MatrixError(503, 'M_UNKNOWN', message),
  unknown: (message = 'Internal server error', status = 500) => new MatrixError(status, 'M_UNKNOWN', message),
} as const;
