import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MatrixError, MatrixErrors } from '@mx/matrix';

/**
 * Matrix error bodies for the answers Fastify gives before any route, hook or Nest filter runs:
 * a path it cannot decode, a path parameter over the router's length limit (`frameworkErrors`),
 * and a request Node's HTTP parser refuses (`clientErrorHandler`). Fastify's own bodies
 * (`{"statusCode":400,"code":"FST_ERR_BAD_URL",…}`) are not Matrix errors.
 */

/** The longest path parameter the router matches (Fastify's `maxParamLength`). */
export const MAX_PATH_PARAMETER_LENGTH = 2048;

/** CORS header every response carries (the CORS hook never runs for these answers). */
const CORS_ORIGIN = { 'access-control-allow-origin': '*' } as const;

/** Fastify's `frameworkErrors` option. */
export function matrixFrameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const matrix =
    error.code === 'FST_ERR_BAD_URL'
      ? MatrixErrors.invalidParam('The request path is not valid percent-encoded UTF-8')
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new MatrixError(414, 'M_TOO_LARGE', `A path parameter is longer than ${MAX_PATH_PARAMETER_LENGTH} characters`)
        : MatrixErrors.unknown();
  void reply
    .status(matrix.status)
    .headers({ ...matrix.headers, ...CORS_ORIGIN })
    .type('application/json')
    .send(matrix.toBody());
}

/**
 * Fastify's `clientErrorHandler`: the request never became one (a method Node does not know, a
 * malformed request line or header, headers over Node's limit, a request timeout). Same statuses
 * as Fastify's default handler, with a Matrix body; the connection is closed afterwards.
 */
export function matrixClientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const matrix =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? MatrixErrors.unknown('Request timeout', 408)
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new MatrixError(431, 'M_TOO_LARGE', 'Request headers too large')
        : MatrixErrors.unrecognized('Bad request', 400);
  const body = JSON.stringify(matrix.toBody());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${matrix.status} ${STATUS_CODES[matrix.status] ?? ''}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * The Matrix error a router answers with for a status it produced itself (the same bodies as the
 * nginx routers' `$mx_error` map in deploy/local/nginx and deploy/docker).
 */
export function routerError(status: number): MatrixError {
  switch (status) {
    case 400:
      return MatrixErrors.unrecognized('Bad request', 400);
    case 404:
      return MatrixErrors.unrecognized();
    case 405:
      return MatrixErrors.unrecognized('Method not allowed', 405);
    case 413:
      return MatrixErrors.tooLarge();
    case 414:
      return new MatrixError(414, 'M_TOO_LARGE', 'Request URI too long');
    case 431:
    case 494: // nginx's own code for "request header or cookie too large"
      return new MatrixError(431, 'M_TOO_LARGE', 'Request headers too large');
    case 429:
      return new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many requests');
    case 502:
      return MatrixErrors.unknown('The server is unreachable; try again shortly', 502);
    case 503:
      return MatrixErrors.unknown('The server is unavailable; try again shortly', 503);
    case 504:
      return MatrixErrors.unknown('The server did not answer in time', 504);
    default:
      return status < 500
        ? new MatrixError(status, 'M_UNKNOWN', STATUS_CODES[status] ?? 'Request failed')
        : MatrixErrors.unknown('Internal server error', status);
  }
}

/**
 * Lets a service stand in as an Ingress controller's custom error backend (ingress-nginx
 * `custom-http-errors` + `default-backend`, see the Helm chart's README): the controller sends the
 * request, rewritten to `/`, with `X-Code: <status>`, and expects the error page as the answer,
 * with that status. No route of ours is `/`, so nothing else changes.
 */
export function installErrorBackend(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const code = request.headers['x-code'];
    if (request.url.split('?')[0] !== '/' || typeof code !== 'string' || !/^[45][0-9]{2}$/.test(code)) {
      done();
      return;
    }
    const error = routerError(Number(code));
    void reply.status(error.status).headers(error.headers).type('application/json').send(error.toBody());
  });
}
