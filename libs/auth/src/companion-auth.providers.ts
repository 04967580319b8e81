import type { Provider } from '@nestjs/common';
import { HomeserverClient } from '@mx/companion';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { AccessTokenService } from './access-token.service.js';
import { CompanionTokenGuard, REQUESTER_RESOLVER } from './companion-token.guard.js';
import { HomeserverRequesterResolver } from './homeserver-requester-resolver.js';

/** Whoami answers cached per replica at most (tokens, as SHA-256). */
const WHOAMI_CACHE_ENTRIES = 100_000;

function upstreamOf(config: AppConfig): NonNullable<AppConfig['upstream']> {
  if (!config.upstream) throw new Error('Companion mode needs MX_UPSTREAM_URL');
  return config.upstream;
}

/**
 * Companion mode (MX_MODE=companion): requests are authenticated by the homeserver's whoami
 * (REQUESTER_RESOLVER, cached) through CompanionTokenGuard, and a token a logout through any
 * replica announced gone (AccessTokenService's deletions) leaves the cache at once. The
 * HomeserverClient talks to the homeserver. Every service that serves clients in companion mode
 * provides these.
 */
export const COMPANION_AUTH_PROVIDERS: Provider[] = [
  {
    provide: REQUESTER_RESOLVER,
    inject: [APP_CONFIG, AccessTokenService],
    useFactory: (config: AppConfig, tokens: AccessTokenService) => {
      const upstream = upstreamOf(config);
      const resolver = new HomeserverRequesterResolver({
        baseUrl: upstream.url,
        timeoutMs: upstream.timeoutMs,
        positiveMs: upstream.whoamiCacheMs,
        negativeMs: upstream.whoamiNegativeCacheMs,
        maxEntries: WHOAMI_CACHE_ENTRIES,
      });
      tokens.onTokensDeleted((deletion) => resolver.forgetDeleted(deletion));
      return resolver;
    },
  },
  {
    provide: HomeserverClient,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig) => {
      const upstream = upstreamOf(config);
      return new HomeserverClient({ url: upstream.url, timeoutMs: upstream.timeoutMs });
    },
  },
  CompanionTokenGuard,
];
