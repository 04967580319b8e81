import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { AppConfig } from './app-config.js';
import { EnvironmentVariables } from './environment-variables.js';

export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Validates the MX_* variables of `env`; throws ConfigValidationError listing every bad one. */
export function validateEnvironment(env: Record<string, unknown>): EnvironmentVariables {
  const relevant = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith('MX_') && value !== undefined && value !== ''),
  );
  const validated = plainToInstance(EnvironmentVariables, relevant, { exposeDefaultValues: true });
  const errors = validateSync(validated, { skipMissingProperties: false, forbidUnknownValues: true });
  const problems = errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => `${error.property}: ${message} (got ${JSON.stringify(error.value)})`),
  );
  const saslFields = [validated.MX_KAFKA_SASL_MECHANISM, validated.MX_KAFKA_SASL_USERNAME, validated.MX_KAFKA_SASL_PASSWORD];
  if (saslFields.some((field) => field !== undefined) && saslFields.some((field) => field === undefined)) {
    problems.push('MX_KAFKA_SASL_MECHANISM, MX_KAFKA_SASL_USERNAME and MX_KAFKA_SASL_PASSWORD must be set together');
  }
  if (validated.MX_REGISTRATION_MODE === 'token' && validated.MX_REGISTRATION_SHARED_SECRET === undefined) {
    problems.push('MX_REGISTRATION_SHARED_SECRET is required when MX_REGISTRATION_MODE is token');
  }
  if (validated.MX_MODE === 'companion' && validated.MX_UPSTREAM_URL === undefined) {
    problems.push('MX_UPSTREAM_URL is required when MX_MODE is companion');
  }
  if (validated.MX_MODE === 'companion') {
    if (validated.MX_APPSERVICE_HS_TOKEN === undefined) problems.push('MX_APPSERVICE_HS_TOKEN is required when MX_MODE is companion');
    if (validated.MX_APPSERVICE_AS_TOKEN === undefined) problems.push('MX_APPSERVICE_AS_TOKEN is required when MX_MODE is companion');
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return validated;
}

export interface ServiceDefaults {
  /** The HTTP port this service listens on when MX_HTTP_PORT is not set. */
  readonly httpPort: number;
}

export function toAppConfig(env: EnvironmentVariables, defaults: ServiceDefaults): AppConfig {
  const prefix = env.MX_TOPIC_PREFIX;
  const sasl =
    env.MX_KAFKA_SASL_MECHANISM && env.MX_KAFKA_SASL_USERNAME !== undefined && env.MX_KAFKA_SASL_PASSWORD !== undefined
      ? { mechanism: env.MX_KAFKA_SASL_MECHANISM, username: env.MX_KAFKA_SASL_USERNAME, password: env.MX_KAFKA_SASL_PASSWORD }
      : undefined;
  return {
    mode: env.MX_MODE as AppConfig['mode'],
    ...(env.MX_UPSTREAM_URL === undefined
      ? {}
      : {
          upstream: {
            url: env.MX_UPSTREAM_URL.replace(/\/+$/, ''),
            timeoutMs: env.MX_UPSTREAM_TIMEOUT_MS,
            whoamiCacheMs: env.MX_WHOAMI_CACHE_MS,
            whoamiNegativeCacheMs: env.MX_WHOAMI_NEGATIVE_CACHE_MS,
          },
        }),
    serverName: env.MX_SERVER_NAME,
    logLevel: env.MX_LOG_LEVEL,
    http: { host: env.MX_HTTP_HOST, port: env.MX_HTTP_PORT ?? defaults.httpPort, bodyLimitBytes: env.MX_HTTP_BODY_LIMIT_BYTES },
    database: {
      host: env.MX_DATABASE_HOST,
      port: env.MX_DATABASE_PORT,
      name: env.MX_DATABASE_NAME,
      user: env.MX_DATABASE_USER,
      password: env.MX_DATABASE_PASSWORD,
      sslMode: env.MX_DATABASE_SSLMODE as AppConfig['database']['sslMode'],
      schema: env.MX_DATABASE_SCHEMA,
      poolSize: env.MX_DATABASE_POOL_SIZE,
    },
    kafka: {
      brokers: env.MX_KAFKA_BROKERS.split(','),
      clientId: env.MX_KAFKA_CLIENT_ID,
      ssl: env.MX_KAFKA_SSL,
      ...(sasl ? { sasl } : {}),
      connectionTimeoutMs: 3000,
      requestTimeoutMs: 30_000,
      ackTimeoutMs: env.MX_KAFKA_ACK_TIMEOUT_MS,
    },
    topics: {
      profile: `${prefix}.profile.v1`,
      membership: `${prefix}.membership.v1`,
      partitions: env.MX_TOPIC_PARTITIONS,
      replicationFactor: env.MX_TOPIC_REPLICATION_FACTOR,
    },
    projector: { groupId: env.MX_PROJECTOR_GROUP_ID ?? `${prefix}.projector`, sessionTimeoutMs: env.MX_PROJECTOR_SESSION_TIMEOUT_MS },
    registration: {
      mode: env.MX_REGISTRATION_MODE,
      ...(env.MX_REGISTRATION_SHARED_SECRET === undefined ? {} : { sharedSecret: env.MX_REGISTRATION_SHARED_SECRET }),
    },
    profile: {
      ...(env.MX_PROFILE_FIELDS_ALLOWED === undefined ? {} : { allowedFields: env.MX_PROFILE_FIELDS_ALLOWED.split(',') }),
      ...(env.MX_PROFILE_FIELDS_DISALLOWED === undefined ? {} : { disallowedFields: env.MX_PROFILE_FIELDS_DISALLOWED.split(',') }),
      maxBytes: env.MX_PROFILE_MAX_BYTES,
      writeRateLimit: env.MX_PROFILE_WRITE_RATE_LIMIT,
      writeRateWindowMs: env.MX_PROFILE_WRITE_RATE_WINDOW_MS,
      readYourWritesTimeoutMs: env.MX_READ_YOUR_WRITES_TIMEOUT_MS,
    },
    sync: {
      maxTimeoutMs: env.MX_SYNC_MAX_TIMEOUT_MS,
      maxProfileFields: env.MX_SYNC_MAX_PROFILE_FIELDS,
      stableNames: env.MX_MSC4429_STABLE,
      lazyCacheDevices: env.MX_SYNC_LAZY_CACHE_DEVICES,
      filterCacheBytes: env.MX_SYNC_FILTER_CACHE_BYTES,
      recentChangesBytes: env.MX_SYNC_RECENT_CHANGES_BYTES,
      membershipCacheBytes: env.MX_SYNC_MEMBERSHIP_CACHE_BYTES,
    },
    rateLimits: {
      login: {
        perAddress: env.MX_LOGIN_RATE_LIMIT_PER_ADDRESS,
        perAccount: env.MX_LOGIN_RATE_LIMIT_PER_ACCOUNT,
        windowMs: env.MX_LOGIN_RATE_WINDOW_MS,
      },
      registration: { perAddress: env.MX_REGISTRATION_RATE_LIMIT_PER_ADDRESS, windowMs: env.MX_REGISTRATION_RATE_WINDOW_MS },
      createRoom: {
        perAddress: env.MX_CREATE_ROOM_RATE_LIMIT_PER_ADDRESS,
        perAccount: env.MX_CREATE_ROOM_RATE_LIMIT_PER_ACCOUNT,
        windowMs: env.MX_CREATE_ROOM_RATE_WINDOW_MS,
      },
    },
    rooms: { maxInvitesPerCreate: env.MX_CREATE_ROOM_MAX_INVITES },
    ...(env.MX_MODE === 'companion' && env.MX_APPSERVICE_HS_TOKEN !== undefined && env.MX_APPSERVICE_AS_TOKEN !== undefined
      ? { appservice: { hsToken: env.MX_APPSERVICE_HS_TOKEN, asToken: env.MX_APPSERVICE_AS_TOKEN } }
      : {}),
    ...(env.MX_UPSTREAM_ADMIN_TOKEN === undefined ? {} : { upstreamAdminToken: env.MX_UPSTREAM_ADMIN_TOKEN }),
  };
}

/** Validates and structures the configuration in one step, for CLIs and tests. */
export function loadAppConfig(env: Record<string, unknown>, defaults: ServiceDefaults): AppConfig {
  return toAppConfig(validateEnvironment(env), defaults);
}
