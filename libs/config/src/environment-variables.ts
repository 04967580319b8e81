import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';

const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;

/**
 * Every environment variable the services read, with its rule and default. The README's
 * configuration table is generated from this class (`node test/tools/environment-table.mjs
 * --write`): each variable's doc comment is its meaning there, and a `@default` tag describes a
 * default the class does not hold.
 */
export class EnvironmentVariables {
  /** server name of the users (`@alice:<name>`) */
  @Matches(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, { message: 'MX_SERVER_NAME must be a server name such as example.org' })
  MX_SERVER_NAME = 'localhost';

  /** `fatal` … `trace`, `silent` */
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  MX_LOG_LEVEL = 'info';

  /** listen address */
  @IsString()
  MX_HTTP_HOST = '0.0.0.0';

  /**
   * listen port
   * @default writer 8101, sync-api 8102, projector 8103
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  MX_HTTP_PORT?: number;

  /** request body limit (413 `M_TOO_LARGE` beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(10 * 1024 * 1024)
  MX_HTTP_BODY_LIMIT_BYTES = 256 * 1024;

  /** PostgreSQL host */
  @IsString()
  MX_DATABASE_HOST = '127.0.0.1';

  /** PostgreSQL port */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  MX_DATABASE_PORT = 5432;

  /** PostgreSQL database */
  @IsString()
  @MinLength(1)
  MX_DATABASE_NAME = 'matrix';

  /** PostgreSQL user */
  @IsString()
  @MinLength(1)
  MX_DATABASE_USER = 'matrix';

  /** PostgreSQL password */
  @IsString()
  MX_DATABASE_PASSWORD = '';

  /** `disable`, `require`, `verify-full` */
  @IsIn(['disable', 'require', 'verify-full'])
  MX_DATABASE_SSLMODE = 'disable';

  /** PostgreSQL schema of the tables (the replay command builds into its own) */
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'MX_DATABASE_SCHEMA must be a lower-case SQL identifier' })
  MX_DATABASE_SCHEMA = 'public';

  /** connections per process */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  MX_DATABASE_POOL_SIZE = 10;

  /** comma-separated bootstrap servers */
  @Matches(/^[^,\s]+(,[^,\s]+)*$/, { message: 'MX_KAFKA_BROKERS must be a comma-separated host:port list' })
  MX_KAFKA_BROKERS = '127.0.0.1:9092';

  /** Kafka client id */
  @IsString()
  @MinLength(1)
  MX_KAFKA_CLIENT_ID = 'matrix-profile-sync';

  /** TLS to the brokers */
  @Transform(toBoolean)
  @IsBoolean()
  MX_KAFKA_SSL = false;

  /** SASL mechanism (`plain`, `scram-sha-256`, `scram-sha-512`); all three SASL variables or none */
  @IsOptional()
  @IsIn(['plain', 'scram-sha-256', 'scram-sha-512'])
  MX_KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';

  /** SASL user name; all three SASL variables or none */
  @IsOptional()
  @IsString()
  MX_KAFKA_SASL_USERNAME?: string;

  /** SASL password; all three SASL variables or none */
  @IsOptional()
  @IsString()
  MX_KAFKA_SASL_PASSWORD?: string;

  /** topics are `<prefix>.profile.v1` and `<prefix>.membership.v1` */
  @Matches(/^[A-Za-z0-9._-]{1,100}$/, { message: 'MX_TOPIC_PREFIX may hold letters, digits, ".", "_" and "-"' })
  MX_TOPIC_PREFIX = 'mx';

  /** partitions per topic (at provisioning) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MX_TOPIC_PARTITIONS = 8;

  /** replication factor (at provisioning; `min.insync.replicas` = min(2, RF)) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10)
  MX_TOPIC_REPLICATION_FACTOR = 1;

  /** how long the broker may take to acknowledge a write */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  MX_KAFKA_ACK_TIMEOUT_MS = 5000;

  /**
   * the projector's consumer group
   * @default `<prefix>.projector`
   */
  @IsOptional()
  @IsString()
  MX_PROJECTOR_GROUP_ID?: string;

  /** how long the consumer group waits for a silent projector before giving its partitions to the others */
  @Type(() => Number)
  @IsInt()
  @Min(6000)
  @Max(300_000)
  MX_PROJECTOR_SESSION_TIMEOUT_MS = 10_000;

  /**
   * `open` (`m.login.dummy`), `token` (`m.login.registration_token` with
   * `MX_REGISTRATION_SHARED_SECRET`) or `disabled` (403 `M_FORBIDDEN`)
   */
  @IsIn(['open', 'token', 'disabled'])
  MX_REGISTRATION_MODE: 'open' | 'token' | 'disabled' = 'disabled';

  /** the token of `m.login.registration_token` in mode `token` (at least 8 characters) */
  @IsOptional()
  @IsString()
  @MinLength(8)
  MX_REGISTRATION_SHARED_SECRET?: string;

  /** comma-separated profile fields users may set (when set, only these; wins over `…_DISALLOWED`) */
  @IsOptional()
  @Matches(/^[^,\s]+(,[^,\s]+)*$/, { message: 'MX_PROFILE_FIELDS_ALLOWED must be a comma-separated list' })
  MX_PROFILE_FIELDS_ALLOWED?: string;

  /** comma-separated profile fields users may not set */
  @IsOptional()
  @Matches(/^[^,\s]+(,[^,\s]+)*$/, { message: 'MX_PROFILE_FIELDS_DISALLOWED must be a comma-separated list' })
  MX_PROFILE_FIELDS_DISALLOWED?: string;

  /** largest whole profile, as canonical JSON (400 `M_PROFILE_TOO_LARGE` beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024)
  MX_PROFILE_MAX_BYTES = 65536;

  /** profile writes (PUT/DELETE) one user may make per window (429 beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100_000)
  MX_PROFILE_WRITE_RATE_LIMIT = 10;

  /** the profile-write rate-limit window */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  MX_PROFILE_WRITE_RATE_WINDOW_MS = 1000;

  /** how long a write waits for the projection to apply it before answering (read-your-writes; 503 beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60_000)
  MX_READ_YOUR_WRITES_TIMEOUT_MS = 5000;

  /** cap on a `/sync` long-poll, whatever `timeout` the client asks for */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  MX_SYNC_MAX_TIMEOUT_MS = 120_000;

  /** cap on the profile field ids one filter may request (400 beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  MX_SYNC_MAX_PROFILE_FIELDS = 100;

  /** serve the stable names (`users`, `profile_fields`) and advertise `org.matrix.msc4429.stable` */
  @Transform(toBoolean)
  @IsBoolean()
  MX_MSC4429_STABLE = false;

  /** devices whose sent-profiles set each sync-api replica remembers for lazy-loading */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  MX_SYNC_LAZY_CACHE_DEVICES = 10_000;

  /** estimated memory each sync-api replica may spend caching stored filters (`0`: none) */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(4 * 1024 * 1024 * 1024)
  MX_SYNC_FILTER_CACHE_BYTES = 32 * 1024 * 1024;

  /** estimated memory each sync-api replica may spend keeping recent projected changes, to answer woken long-polls without the database (`0`: always ask the database) */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(4 * 1024 * 1024 * 1024)
  MX_SYNC_RECENT_CHANGES_BYTES = 32 * 1024 * 1024;

  /** estimated memory each sync-api replica may spend caching users' joined rooms and co-members (`0`: none) */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(4 * 1024 * 1024 * 1024)
  MX_SYNC_MEMBERSHIP_CACHE_BYTES = 64 * 1024 * 1024;

  /** login attempts (right or wrong password) per client address per window (429 beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_LOGIN_RATE_LIMIT_PER_ADDRESS = 30;

  /** login attempts naming one account, from any address, per window (429 beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_LOGIN_RATE_LIMIT_PER_ACCOUNT = 10;

  /** the login rate-limit window */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  MX_LOGIN_RATE_WINDOW_MS = 60_000;

  /** registration requests (each User-Interactive Auth step counts) per client address per window */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_REGISTRATION_RATE_LIMIT_PER_ADDRESS = 20;

  /** the registration rate-limit window */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  MX_REGISTRATION_RATE_WINDOW_MS = 60_000;

  /** rooms created per user per window (429 beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_CREATE_ROOM_RATE_LIMIT_PER_ACCOUNT = 10;

  /** rooms created per client address per window (429 beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MX_CREATE_ROOM_RATE_LIMIT_PER_ADDRESS = 30;

  /** the room-creation rate-limit window */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  MX_CREATE_ROOM_RATE_WINDOW_MS = 60_000;

  /** most users one `createRoom` may invite (400 `M_INVALID_PARAM` beyond) */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000)
  MX_CREATE_ROOM_MAX_INVITES = 100;

  /** `standalone` (the project is the homeserver) or `companion` (in front of an existing homeserver, see MX_UPSTREAM_URL) */
  @IsIn(['standalone', 'companion'])
  MX_MODE = 'standalone';

  /** companion mode: the homeserver's client-server base URL (such as `http://synapse:8008`); required in companion mode */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, { message: 'MX_UPSTREAM_URL must be an http(s) base URL' })
  MX_UPSTREAM_URL?: string;

  /** companion mode: how long a request to the homeserver may take beyond a long-poll's own timeout (then 504) */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  MX_UPSTREAM_TIMEOUT_MS = 10_000;

  /** companion mode: how long a sync-api replica trusts the homeserver's whoami answer for an access token */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  MX_WHOAMI_CACHE_MS = 60_000;

  /** companion mode: how long a sync-api replica remembers that the homeserver refused an access token */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  MX_WHOAMI_NEGATIVE_CACHE_MS = 5000;

  /** companion mode: the `hs_token` of the appservice registration, which the homeserver presents on `/_matrix/app/v1/*` (required in companion mode) */
  @IsOptional()
  @IsString()
  @MinLength(16)
  MX_APPSERVICE_HS_TOKEN?: string;

  /** companion mode: the `as_token` of the appservice registration, which the project presents to the homeserver (required in companion mode) */
  @IsOptional()
  @IsString()
  @MinLength(16)
  MX_APPSERVICE_AS_TOKEN?: string;

  /** companion mode: a homeserver admin's access token, for `ops companion-bootstrap` / `companion-verify` (Synapse admin API; `--admin-token` overrides it) */
  @IsOptional()
  @IsString()
  @MinLength(8)
  MX_UPSTREAM_ADMIN_TOKEN?: string;
}
