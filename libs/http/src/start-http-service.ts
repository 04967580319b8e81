import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import type { AppConfig } from '@mx/config';
import { Registry } from 'prom-client';
import { installErrorBackend, MAX_PATH_PARAMETER_LENGTH, matrixClientErrorHandler, matrixFrameworkErrors } from './framework-errors.js';
import { installHttpMetrics } from './http-metrics.js';
import { installJsonBodyParser } from './json-body-parser.js';
import { LifecycleState } from './lifecycle-state.js';
import { MatrixExceptionFilter } from './matrix-exception.filter.js';
import { matrixValidationPipe } from './matrix-validation.pipe.js';
import { serveOpenApiDocument } from './openapi-document.js';
import { RouteRegistry } from './route-registry.js';
import { installUnstorableParameterHook } from './unstorable-parameter.hook.js';

/** CORS as the Client-Server API requires it, on every response and for every preflight. */
const CORS = {
  origin: '*',
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
  allowedHeaders: ['X-Requested-With', 'Content-Type', 'Authorization'],
  maxAge: 86400,
  // A plain OPTIONS (no Origin / Access-Control-Request-Method) is answered like a preflight
  // (204 with the CORS headers), not with @fastify/cors's text/plain 400.
  strictPreflight: false,
};

/**
 * Creates a NestJS application on Fastify with the Matrix HTTP conventions: JSON bodies whatever
 * the Content-Type, Matrix error bodies for everything (404/405 M_UNRECOGNIZED included), CORS,
 * structured logs, graceful shutdown. Does not listen yet.
 */
export async function createHttpService(module: Type<unknown>, config: AppConfig): Promise<NestFastifyApplication> {
  const routes = new RouteRegistry();
  const adapter = new FastifyAdapter({
    logger: false,
    trustProxy: true,
    bodyLimit: config.http.bodyLimitBytes,
    // Clients call some endpoints with a trailing slash (matrix-js-sdk: `/pushrules/`).
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH, ignoreTrailingSlash: true },
    return503OnClosing: true,
    keepAliveTimeout: 75_000,
    // Matrix bodies for what Fastify answers itself: undecodable paths, over-long parameters, bad requests.
    frameworkErrors: matrixFrameworkErrors,
    clientErrorHandler: matrixClientErrorHandler,
  });
  const fastify = adapter.getInstance();
  fastify.addHook('onRoute', (route) => routes.add(route.method, route.url));
  installJsonBodyParser(fastify, config.http.bodyLimitBytes);
  installErrorBackend(fastify);
  installUnstorableParameterHook(fastify);

  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.enableCors(CORS);
  app.useGlobalFilters(new MatrixExceptionFilter(routes, await app.resolve(PinoLogger)));
  app.useGlobalPipes(matrixValidationPipe());
  app.enableShutdownHooks();
  // Once shutdown begins, every response closes its connection: closing the server waits for
  // every open connection, and a keep-alive client (the router's upstream pool) would otherwise
  // hold the one of a request that was in flight until the shutdown deadline.
  const lifecycle = app.get(LifecycleState);
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.draining) void reply.header('connection', 'close');
    done(null, payload);
  });
  installHttpMetrics(fastify, app.get(Registry));
  serveOpenApiDocument(app, module.name.replace(/Module$/, ''));
  return app;
}

/** Pending connections the kernel may queue before the service accepts them. */
const LISTEN_BACKLOG = 4096;

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 20_000;

/** Listens, and on SIGTERM/SIGINT turns readiness false before Nest closes everything. */
export async function listen(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const lifecycle = app.get(LifecycleState);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.prependListener(signal, () => {
      lifecycle.beginDraining();
      // Shutdown is bounded: a dependency that never answers (a broker that is down) must not keep
      // the process alive (a stale consumer-group member would hold its partitions meanwhile).
      setTimeout(() => {
        process.stderr.write(`shutdown did not finish within ${SHUTDOWN_DEADLINE_MS} ms; exiting\n`);
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
    });
  }
  // A burst of connections (every client reconnecting after a restart) must not overflow the
  // accept queue: Node's default backlog of 511 reset hundreds of 10,000 long-polls opened at once.
  // The kernel caps it at net.core.somaxconn.
  await app.listen({ port: config.http.port, host: config.http.host, backlog: LISTEN_BACKLOG });
}
