import type { Provider } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { CompanionTokenGuard, REQUESTER_RESOLVER } from './companion-token.guard.js';
import { HomeserverRequesterResolver } from './homeserver-requester-resolver.js';

/** Whoami answers cached per replica at most (tokens, as SHA-256). */
const WHOAMI_CACHE_ENTRIES = 100_000;

/**
 * Companion mode (MX_MODE=companion): requests are authenticated by the homeserver's whoami
 * (REQUESTER_RESOLVER, cached) through CompanionTokenGuard. Every service that serves clients in
 * companion mode provides these.
 */
export const COMPANION_AUTH_PROVIDERS: Provider[] = [
  {
    provide: REQUESTER_RESOLVER,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig) => {
      if (!config.upstream) throw new Error('Companion mode needs MX_UPSTREAM_URL');
      return new HomeserverRequesterResolver({
        baseUrl: config.upstream.url,
        timeoutMs: config.upstream.timeoutMs,
        positiveMs: config.upstream.whoamiCacheMs,
        negativeMs: config.upstream.whoamiNegativeCacheMs,
        maxEntries: WHOAMI_CACHE_ENTRIES,
      });
    },
  },
  CompanionTokenGuard,
];
