import type { FastifyInstance } from 'fastify';
import { findUnstorableJson, MatrixErrors } from '@mx/matrix';

/** The Application Service API's paths (served in companion mode only, to the homeserver). */
const APPSERVICE_PREFIX = '/_matrix/app/';

/**
 * The body limit of the Application Service API's routes. Synapse puts up to 100 room events
 * (64 KiB each at most), 100 ephemeral events and 100 to-device messages in one transaction, so
 * the client API's limit (MX_HTTP_BODY_LIMIT_BYTES) could refuse a valid one, which Synapse would
 * retry for ever. Only the homeserver reaches these routes (never exposed through the router).
 */
export const APPSERVICE_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Matrix bodies are JSON whatever the Content-Type says. Replaces every Fastify parser with one
 * that parses any body as JSON and answers M_NOT_JSON when it is not, and M_BAD_JSON when it holds
 * something the projection could never store (NUL, unpaired surrogates, numbers beyond a double,
 * hostile nesting): such a value is refused here, at every endpoint, before it can reach the log.
 */
export function installJsonBodyParser(fastify: FastifyInstance, bodyLimit: number): void {
  // A route's own limit wins over the parser's (set before the routes are registered).
  fastify.addHook('onRoute', (route) => {
    if (route.url.startsWith(APPSERVICE_PREFIX)) route.bodyLimit = Math.max(bodyLimit, APPSERVICE_BODY_LIMIT_BYTES);
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    const buffer = body as Buffer;
    if (buffer.length === 0) {
      done(null, undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(buffer.toString('utf8'));
    } catch {
      done(MatrixErrors.notJson(), undefined);
      return;
    }
    // A homeserver's Application Service transaction carries every event of every room: one odd
    // message (deep, 1e400, NUL) must not refuse the whole transaction, which the homeserver would
    // retry for ever, stalling the feed. The endpoint checks the events it keeps, one by one.
    if (request.url.startsWith(APPSERVICE_PREFIX)) {
      done(null, parsed);
      return;
    }
    const problem = findUnstorableJson(parsed);
    if (problem === null) done(null, parsed);
    else done(MatrixErrors.badJson(`The body cannot be accepted: ${problem}`), undefined);
  });
}
