import type { Params } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Structured JSON logs. Requests are logged by path only: query strings may carry access tokens
 * (`?access_token=`), and the Authorization header is never logged.
 */
export function loggerOptions(level: string, service: string): Params {
  return {
    pinoHttp: {
      level,
      base: { service },
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true },
      serializers: {
        req: (request: IncomingMessage & { id?: unknown }) => ({
          id: request.id,
          method: request.method,
          path: (request.url ?? '').split('?')[0],
        }),
        res: (response: ServerResponse) => ({ statusCode: response.statusCode }),
      },
      customLogLevel: (_request, response, error) =>
        error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'info' : 'debug',
      autoLogging: { ignore: (request) => (request.url ?? '').startsWith('/health') || request.url === '/metrics' },
    },
  };
}
