import type { KafkaConnectionOptions } from './kafka-connection-options.js';

/** The validated, structured configuration every service receives. */
export interface AppConfig {
  readonly mode: ServiceMode;
  /** Set in companion mode only. */
  readonly upstream?: UpstreamConfig;
  readonly serverName: string;
  readonly logLevel: string;
  readonly http: { readonly host: string; readonly port: number; readonly bodyLimitBytes: number };
  readonly database: {
    readonly host: string;
    readonly port: number;
    readonly name: string;
    readonly user: string;
    readonly password: string;
    readonly sslMode: 'disable' | 'require' | 'verify-full';
    readonly schema: string;
    readonly poolSize: number;
  };
  readonly kafka: KafkaConnectionOptions & { readonly ackTimeoutMs: number };
  readonly topics: {
    readonly profile: string;
    readonly membership: string;
    readonly partitions: number;
    readonly replicationFactor: number;
  };
  readonly projector: { readonly groupId: string; readonly sessionTimeoutMs: number };
  readonly registration: { readonly mode: 'open' | 'token' | 'disabled'; readonly sharedSecret?: string };
  readonly profile: {
    /** When set, the only fields users may set; takes precedence over disallowedFields. */
    readonly allowedFields?: readonly string[];
    readonly disallowedFields?: readonly string[];
    readonly maxBytes: number;
    readonly writeRateLimit: number;
    readonly writeRateWindowMs: number;
    readonly readYourWritesTimeoutMs: number;
  };
  readonly sync: {
    /** Serve the stable MSC4429 names (`users`, `profile_fields`). */
    readonly stableNames: boolean;
    readonly lazyCacheDevices: number;
    readonly maxTimeoutMs: number;
    readonly maxProfileFields: number;
    /** Bound (estimated bytes) of the stored-filter cache of each sync-api replica. */
    readonly filterCacheBytes: number;
    /** Bound (estimated bytes) of the recent projected changes each sync-api replica keeps (0: woken long-polls read the database). */
    readonly recentChangesBytes: number;
    /** Bound (estimated bytes) of the membership views (joined rooms, co-members) each sync-api replica caches. */
    readonly membershipCacheBytes: number;
  };
  /** Request rate limits of the writer, counted in each replica's memory (N replicas allow up to N times each). */
  readonly rateLimits: {
    readonly login: { readonly perAddress: number; readonly perAccount: number; readonly windowMs: number };
    readonly registration: { readonly perAddress: number; readonly windowMs: number };
    readonly createRoom: { readonly perAddress: number; readonly perAccount: number; readonly windowMs: number };
  };
  readonly rooms: {
    /** Most users one createRoom request may invite. */
    readonly maxInvitesPerCreate: number;
  };
  /** Companion mode: the appservice registration's tokens (hs_token: the homeserver's to us; as_token: ours to it). */
  readonly appservice?: { readonly hsToken: string; readonly asToken: string };
  /** Companion mode: a homeserver admin's access token, for the operator commands that read the admin API (MX_UPSTREAM_ADMIN_TOKEN). */
  readonly upstreamAdminToken?: string;
}

/** `standalone`: the project is the homeserver; `companion`: it serves MSC4429 in front of an existing homeserver. */
export type ServiceMode = 'standalone' | 'companion';

/** Companion mode: how the sync API talks to the homeserver. */
export interface UpstreamConfig {
  /** The homeserver's client-server base URL, without a trailing slash. */
  readonly url: string;
  readonly timeoutMs: number;
  readonly whoamiCacheMs: number;
  readonly whoamiNegativeCacheMs: number;
}

/** Injection token of the AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
