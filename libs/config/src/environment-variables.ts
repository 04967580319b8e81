import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';

const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;

/**
 * Every environment variable the services read, with its rule and default. The README's
 * configuration table lists the same variables; keep them in step.
 */
export class EnvironmentVariables {
  /** The homeserver name users live on: `@alice:<MX_SERVER_NAME>`. */
  @Matches(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, { message: 'MX_SERVER_NAME must be a server name such as example.org' })
  MX_SERVER_NAME = 'localhost';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  MX_LOG_LEVEL = 'info';

  @IsString()
  MX_HTTP_HOST = '0.0.0.0';

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  MX_HTTP_PORT?: number;

  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(10 * 1024 * 1024)
  MX_HTTP_BODY_LIMIT_BYTES = 256 * 1024;

  @IsString()
  MX_DATABASE_HOST = '127.0.0.1';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  MX_DATABASE_PORT = 5432;

  @IsString()
  @MinLength(1)
  MX_DATABASE_NAME = 'matrix';

  @IsString()
  @MinLength(1)
  MX_DATABASE_USER = 'matrix';

  @IsString()
  MX_DATABASE_PASSWORD = '';

  @IsIn(['disable', 'require', 'verify-full'])
  MX_DATABASE_SSLMODE = 'disable';

  /** The PostgreSQL schema holding the tables (a replay builds a fresh projection in another one). */
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'MX_DATABASE_SCHEMA must be a lower-case SQL identifier' })
  MX_DATABASE_SCHEMA = 'public';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  MX_DATABASE_POOL_SIZE = 10;

  /** Comma-separated `host:port` list. */
  @Matches(/^[^,\s]+(,[^,\s]+)*$/, { message: 'MX_KAFKA_BROKERS must be a comma-separated host:port list' })
  MX_KAFKA_BROKERS = '127.0.0.1:9092';

  @IsString()
  @MinLength(1)
  MX_KAFKA_CLIENT_ID = 'matrix-profile-sync';

  @Transform(toBoolean)
  @IsBoolean()
  MX_KAFKA_SSL = false;

  @IsOptional()
  @IsIn(['plain', 'scram-sha-256', 'scram-sha-512'])
  MX_KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';

  @IsOptional()
  @IsString()
  MX_KAFKA_SASL_USERNAME?: string;

  @IsOptional()
  @IsString()
  MX_KAFKA_SASL_PASSWORD?: string;

  /** Prefix of every topic name, e.g. `mx` gives `mx.profile.v1`. */
  @Matches(/^[A-Za-z0-9._-]{1,100}$/, { message: 'MX_TOPIC_PREFIX may hold letters, digits, ".", "_" and "-"' })
  MX_TOPIC_PREFIX = 'mx';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MX_TOPIC_PARTITIONS = 8;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10)
  MX_TOPIC_REPLICATION_FACTOR = 1;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  MX_KAFKA_ACK_TIMEOUT_MS = 5000;

  @IsOptional()
  @IsString()
  MX_PROJECTOR_GROUP_ID?: string;

  /** How long the group waits for a silent projector before handing its partitions to the others. */
  @Type(() => Number)
  @IsInt()
  @Min(6000)
  @Max(300_000)
  MX_PROJECTOR_SESSION_TIMEOUT_MS = 10_000;

  /** `open`: anyone may register; `token`: registration needs MX_REGISTRATION_SHARED_SECRET; `disabled`. */
  @IsIn(['open', 'token', 'disabled'])
  MX_REGISTRATION_MODE: 'open' | 'token' | 'disabled' = 'disabled';

  @IsOptional()
  @IsString()
  @MinLength(8)
  MX_REGISTRATION_SHARED_SECRET?: string;

  /** Comma-separated profile fields users may set (when set, only these; wins over DISALLOWED). */
  @IsOptional()
  @Matches(/^[^,\s]+(,[^,\s]+)*$/, { message: 'MX_PROFILE_FIELDS_ALLOWED must be a comma-separated list' })
  MX_PROFILE_FIELDS_ALLOWED?: string;

  /** Comma-separated profile fields users may not set. */
  @IsOptional()
  @Matches(/^[^,\s]+(,[^,\s]+)*$/, { message: 'MX_PROFILE_FIELDS_DISALLOWED must be a comma-separated list' })
  MX_PROFILE_FIELDS_DISALLOWED?: string;

  /** Largest whole profile, as canonical JSON. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024)
  MX_PROFILE_MAX_BYTES = 65536;

  /** Profile writes (PUT/DELETE) one user may make per window. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100_000)
  MX_PROFILE_WRITE_RATE_LIMIT = 10;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  MX_PROFILE_WRITE_RATE_WINDOW_MS = 1000;

  /** How long a write waits for the projection to include it before answering (read-your-writes). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60_000)
  MX_READ_YOUR_WRITES_TIMEOUT_MS = 5000;

  /** Upper bound on a `/sync` long-poll, whatever `timeout` the client asks for. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  MX_SYNC_MAX_TIMEOUT_MS = 120_000;

  /** How many profile field ids one filter may request. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MX_SYNC_MAX_PROFILE_FIELDS = 100;

  /** Serve MSC4429's stable names (`users`, `profile_fields`) and advertise `org.matrix.msc4429.stable`. */
  @Transform(toBoolean)
  @IsBoolean()
  MX_MSC4429_STABLE = false;

  /** How many devices' "profiles already sent" sets the sync API remembers for lazy-loading (per replica). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  MX_SYNC_LAZY_CACHE_DEVICES = 10_000;

  /** Memory (estimated bytes) each sync-api replica may spend caching stored filters; 0 caches none. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(4 * 1024 * 1024 * 1024)
  MX_SYNC_FILTER_CACHE_BYTES = 32 * 1024 * 1024;

  /**
   * Login attempts (right or wrong password) one client address may make per window, and that
   * name one account (from any address). Counted in each writer replica's memory.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_LOGIN_RATE_LIMIT_PER_ADDRESS = 30;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_LOGIN_RATE_LIMIT_PER_ACCOUNT = 10;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  MX_LOGIN_RATE_WINDOW_MS = 60_000;

  /** Registration requests (each step of User-Interactive Auth counts) one client address may make per window. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_REGISTRATION_RATE_LIMIT_PER_ADDRESS = 20;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  MX_REGISTRATION_RATE_WINDOW_MS = 60_000;

  /** Rooms one user may create per window, and one client address (for any users). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_CREATE_ROOM_RATE_LIMIT_PER_ACCOUNT = 10;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_CREATE_ROOM_RATE_LIMIT_PER_ADDRESS = 30;

  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  MX_CREATE_ROOM_RATE_WINDOW_MS = 60_000;

  /** Most users one createRoom request may invite (400 M_INVALID_PARAM beyond). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000)
  MX_CREATE_ROOM_MAX_INVITES = 100;
}
