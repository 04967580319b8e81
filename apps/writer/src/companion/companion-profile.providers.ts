import type { Provider } from '@nestjs/common';
import { CompanionTokenGuard, HomeserverRequesterResolver, REQUESTER_RESOLVER } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { HomeserverProfileWriter } from './homeserver-profile-writer.js';

/** Whoami answers cached per replica at most (tokens, as SHA-256). */
const WHOAMI_CACHE_ENTRIES = 100_000;

/**
 * The writer's providers in companion mode (MX_MODE=companion): profile writes authenticated by
 * the homeserver's whoami (CompanionTokenGuard, picked up by ProfileWriteAuthGuard) and written to
 * the homeserver before the log (HomeserverProfileWriter, picked up by ProfileCommandService).
 */
export const COMPANION_PROFILE_PROVIDERS: Provider[] = [
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
  HomeserverProfileWriter,
];
