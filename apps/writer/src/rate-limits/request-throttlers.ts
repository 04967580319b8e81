import type { ExecutionContext } from '@nestjs/common';
import { normalizeIp, type ThrottlerGetTrackerFunction, type ThrottlerOptions } from '@nestjs/throttler';
import type { AppConfig } from '@mx/config';
import { loginAccountOf } from '../login/login-user-id.js';
import { RATE_LIMIT, type RateLimitName, rateLimitsOf } from './request-rate-limit.guard.js';

/**
 * The client's address: behind the router, Fastify (trustProxy) takes it from X-Forwarded-For.
 * IPv6 addresses count by their /64, as one host usually holds a whole /64.
 */
const clientAddress: ThrottlerGetTrackerFunction = (request) => {
  const ip: unknown = request['ip'];
  return typeof ip === 'string' ? normalizeIp(ip) : '';
};

/** The authenticated user (the route's authentication guard ran first). */
const requester: ThrottlerGetTrackerFunction = (request) => {
  const userId: unknown = (request['requester'] as { userId?: unknown } | undefined)?.userId;
  return typeof userId === 'string' ? userId : '';
};

/**
 * The writer's request rate limits as named throttlers of the ThrottlerModule, each counted only
 * on the routes that declare it (@RateLimited) and skipped by every other throttler guard. Within
 * a route, the address limit comes first, so requests it refuses are not counted against accounts
 * (and cannot fill the counters with made-up account names).
 */
export function requestThrottlers(config: AppConfig): ThrottlerOptions[] {
  const { login, registration, createRoom } = config.rateLimits;
  const limit = (name: RateLimitName, count: number, windowMs: number, getTracker: ThrottlerGetTrackerFunction): ThrottlerOptions => ({
    name,
    limit: count,
    ttl: windowMs,
    getTracker,
    skipIf: (context: ExecutionContext) => !rateLimitsOf(context).includes(name),
  });
  const loginAccount: ThrottlerGetTrackerFunction = (request) => loginAccountOf(request['body'], config.serverName) ?? '';
  return [
    limit(RATE_LIMIT.loginPerAddress, login.perAddress, login.windowMs, clientAddress),
    limit(RATE_LIMIT.loginPerAccount, login.perAccount, login.windowMs, loginAccount),
    limit(RATE_LIMIT.registrationPerAddress, registration.perAddress, registration.windowMs, clientAddress),
    limit(RATE_LIMIT.createRoomPerAddress, createRoom.perAddress, createRoom.windowMs, clientAddress),
    limit(RATE_LIMIT.createRoomPerAccount, createRoom.perAccount, createRoom.windowMs, requester),
  ];
}
