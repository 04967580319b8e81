import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PinoLogger } from 'nestjs-pino';
import { MatrixError, MatrixErrors } from '@mx/matrix';
import { isRetryableFailure } from './retryable-failure.js';
import type { RouteRegistry } from './route-registry.js';

interface FastifyError extends Error {
  code?: string;
  statusCode?: number;
}

/**
 * Turns everything thrown while serving a request into a Matrix error body. Our own failures
 * (anything that is not a MatrixError or a client-caused framework error) become 500 M_UNKNOWN
 * and are logged with the request context; client input never produces a 500.
 */
@Catch()
export class MatrixExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly routes: RouteRegistry,
    private readonly logger: PinoLogger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<FastifyRequest>();
    const reply = context.getResponse<FastifyReply>();
    const error = this.toMatrixError(exception, request);
    if (error.status >= 500) {
      // Ours (500) or a dependency's (503): either way logged with the request's context.
      this.logger.error(
        { err: exception, method: request.method, path: request.url.split('?')[0], requestId: request.id },
        'request failed',
      );
    }
    void reply.status(error.status).headers(error.headers).type('application/json').send(error.toBody());
  }

  private toMatrixError(exception: unknown, request: FastifyRequest): MatrixError {
    if (exception instanceof MatrixError) return exception;
    if (exception instanceof NotFoundException) {
      const path = request.url.split('?')[0] ?? '/';
      const methods = this.routes.methodsFor(path);
      // A 405 says which methods the path does take (RFC 9110 makes Allow mandatory on a 405).
      return methods.length > 0 && !methods.includes(request.method)
        ? new MatrixError(405, 'M_UNRECOGNIZED', 'Unrecognized request: method not allowed', {}, { Allow: this.routes.allowHeader(path) })
        : MatrixErrors.unrecognized();
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 413) return MatrixErrors.tooLarge();
      if (status < 500) return new MatrixError(status, 'M_UNKNOWN', exception.message);
      // A 503 said on purpose (terminus's not-ready answer, a ServiceUnavailableException) stays a 503.
      if (status === 503) return MatrixErrors.unavailable('Service unavailable; try again shortly');
      return MatrixErrors.unknown();
    }
    const fastifyError = exception as FastifyError;
    if (isRetryableFailure(exception)) return MatrixErrors.unavailable('A backing service is unavailable or busy; try again shortly');
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return MatrixErrors.tooLarge();
    if (fastifyError.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return MatrixErrors.badJson('Invalid Content-Length');
    if (fastifyError.code?.startsWith('FST_ERR_CTP') === true) return MatrixErrors.notJson();
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      return new MatrixError(fastifyError.statusCode, 'M_UNKNOWN', fastifyError.message);
    }
    return MatrixErrors.unknown();
  }
}
