import type { FastifyInstance } from 'fastify';
import { MatrixErrors } from '@mx/matrix';

/**
 * Matrix bodies are JSON whatever the Content-Type says. Replaces every Fastify parser with one
 * that parses any body as JSON and answers M_NOT_JSON when it is not.
 */
export function installJsonBodyParser(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    const buffer = body as Buffer;
    if (buffer.length === 0) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(buffer.toString('utf8')) as unknown);
    } catch {
      done(MatrixErrors.notJson(), undefined);
    }
  });
}
