import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { Counter, Registry } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { type CachedProfile, type OwnProfileWrite, ProfileSizeCache } from '@mx/profile';
import { ProjectionCommitListener } from '@mx/storage';
import { ProfileReader } from './profile-reader.js';

/** Heap budget of the cache, per writer replica: thousands of typical profiles, dozens of maximal ones. */
export const PROFILE_SIZE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The writer's view of users' profile sizes and field sets, so that a profile write in the steady
 * state sends no query (ProfileSizeCache: filled on first read, kept up to date by this replica's
 * own writes, forgotten as the projector announces other changes, cleared when its listener
 * reconnects). Its answers only ever let a write go ahead: a refusal, or "nothing to delete", is
 * confirmed against the database first; the projector's size check stays authoritative.
 *
 * `mx_writer_profile_cache_total{result}`: hit (answered from memory), miss (read from the
 * database), recheck (memory said no; the database was asked).
 */
@Injectable()
export class ProfileSizeCacheService implements OnModuleInit, OnApplicationShutdown {
  private readonly cache = new ProfileSizeCache(PROFILE_SIZE_CACHE_BYTES);
  private commits: ProjectionCommitListener | undefined;
  private readonly lookups: Counter<'result'>;

  constructor(
    private readonly reader: ProfileReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    registry: Registry,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(ProfileSizeCacheService.name);
    this.lookups = new Counter({
      name: 'mx_writer_profile_cache_total',
      help: "Profile checks of writes by where the profile's size came from: hit (memory), miss (database), recheck (memory refused; database asked)",
      labelNames: ['result'],
      registers: [registry],
    });
  }

  async onModuleInit(): Promise<void> {
    this.commits = new ProjectionCommitListener(this.config.database, this.logger);
    this.commits.subscribe((event) => {
      // Announcements may have been missed while disconnected.
      if (event.kind === 'resync') this.cache.clear();
      else if (event.change.topic === this.config.topics.profile) this.cache.projected(event.change);
    });
    await this.commits.start();
    this.cache.enable();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.commits?.stop();
  }

  /**
   * The user's profile for a check whose failing answer is `refuses`: from memory when it lets the
   * write go ahead, otherwise (or when not cached) from the database.
   */
  async profileFor(userId: string, refuses: (profile: CachedProfile) => boolean): Promise<CachedProfile> {
    const cached = this.cache.lookup(userId);
    if (cached && !refuses(cached)) {
      this.lookups.inc({ result: 'hit' });
      return cached;
    }
    this.lookups.inc({ result: cached ? 'recheck' : 'miss' });
    const fill = this.cache.beginFill(userId);
    return fill.store(await this.reader.profile(userId));
  }

  /** Call before appending a write of the user's profile; report its positions and outcome. */
  beginWrite(userId: string): OwnProfileWrite {
    return this.cache.beginWrite(userId);
  }
}
