import type { FastifyInstance } from 'fastify';
import { MatrixErrors, unstorableStringProblem } from '@mx/matrix';

/**
 * Path and query parameters end up in the database and the log too (user and room IDs, filter
 * ids, device ids): one that holds a NUL or an unpaired surrogate (`%00` decodes to NUL) is
 * refused with 400 M_INVALID_PARAM before any handler sees it.
 */
export function installUnstorableParameterHook(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    const problem = findProblem('path parameter', request.params) ?? findProblem('query parameter', request.query);
    done(problem === null ? undefined : MatrixErrors.invalidParam(problem));
  });
}

function findProblem(kind: string, values: unknown): string | null {
  if (values === null || typeof values !== 'object') return null;
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    const texts: readonly unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const text of [name, ...texts]) {
      if (typeof text !== 'string') continue;
      const problem = unstorableStringProblem(text);
      if (problem !== null) return `A ${kind} ${problem}`;
    }
  }
  return null;
}
