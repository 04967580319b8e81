/**
 * The homeserver answered something the companion bootstrap / verify cannot read (not the shape
 * Synapse's admin API or `GET /profile` documents). Carries what was expected, never the body's
 * secrets; the operator command stops with it rather than skip data silently.
 */
export class UnexpectedHomeserverAnswerError extends Error {
  constructor(
    /** Which request (`GET /_synapse/admin/v1/rooms`, ...). */
    readonly request: string,
    problem: string,
  ) {
    super(`${request}: ${problem}`);
    this.name = 'UnexpectedHomeserverAnswerError';
  }
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
