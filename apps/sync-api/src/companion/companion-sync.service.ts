import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { Counter, Registry } from 'prom-client';
import { REQUESTER_RESOLVER, type Requester, type RequesterResolver, HomeserverRequesterResolver, isTokenRefusal } from '@mx/auth';
import {
  decodeCompanionSyncToken,
  HomeserverClient,
  homeserverError,
  HomeserverRequestCancelled,
  SharedUpstreamPolls,
  type CompanionSyncToken,
  type HomeserverAnswer,
} from '@mx/companion';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { MatrixError, MatrixErrors } from '@mx/matrix';
import { MalformedSyncTokenError, type SyncFilter, type SyncPositions } from '@mx/sync';
import type { ParkedLongPoll } from '../sync/long-poll-registry.js';
import { LongPolls } from '../sync/long-polls.js';
import { SyncService, type CompanionUsersResult, type Syncer } from '../sync/sync.service.js';
import {
  homeserverRooms,
  homeserverSyncQuery,
  mergeCompanionSync,
  projectOnlySync,
  timelineMemberEvents,
} from './companion-sync-response.js';

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw MatrixErrors.invalidParam(`${name} must be given once`);
  return value;
}

/** Homeserver long-polls one replica keeps for its clients' next requests at most. */
const SHARED_UPSTREAM_POLLS = 20_000;
/** How long a homeserver answer that came while no request waited is kept for the next one. */
const KEEP_UPSTREAM_ANSWER_MS = 30_000;
/**
 * How long an answer whose timeline holds joins or leaves waits for the Application Service feed
 * to bring them to the projection (Synapse measured here: 57 ms median lag), so the users section
 * agrees with the timeline; past it, the next answer carries them.
 */
const FEED_CATCH_UP_MS = 1_000;
/** After a wait that ran out (the feed is behind or down), answers go without waiting this long: chat is never held up by the project. */
const FEED_BEHIND_BACKOFF_MS = 30_000;

type Outcome =
  | { readonly kind: 'homeserver'; readonly answer: HomeserverAnswer }
  | { readonly kind: 'homeserverFailed'; readonly error: unknown }
  | { readonly kind: 'project'; readonly result: CompanionUsersResult }
  /** The token was logged out (through any replica) while the request waited: the homeserver's refusal. */
  | { readonly kind: 'tokenRefused'; readonly error: unknown }
  /** A newer long-poll of the same user took this one's place: answer with nothing new. */
  | { readonly kind: 'released' };

/**
 * `/sync` in companion mode: the homeserver's `/sync` (forwarded with the client's token, filter
 * and the homeserver's part of `since`), plus the users section from the projection, built as
 * standalone mode builds it. A long-poll waits on both sides and answers with whichever has
 * something first, cancelling the other. The homeserver down or slow: a Matrix error within the
 * client's timeout plus MX_UPSTREAM_TIMEOUT_MS. The projection down: the homeserver's answer
 * without a users section, the project's part of the token unchanged. A long-poll whose token is
 * logged out through the project (on any replica) ends at once with the homeserver's 401.
 */
@Injectable()
export class CompanionSyncService {
  constructor(
    private readonly homeserver: HomeserverClient,
    private readonly syncs: SyncService,
    private readonly longPolls: LongPolls,
    @Inject(REQUESTER_RESOLVER) private readonly resolver: RequesterResolver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly logger: PinoLogger,
    registry: Registry,
  ) {
    this.logger.setContext(CompanionSyncService.name);
    this.upstreamSyncs = new Counter({
      name: 'mx_companion_upstream_syncs_total',
      help: "Homeserver /sync requests of companion long-polls: started, or joined (a poll an earlier request of the same token and homeserver position left running when the project's side answered first)",
      labelNames: ['kind'],
      registers: [registry],
    });
    this.feedBehind = new Counter({
      name: 'mx_companion_feed_behind_total',
      help: "Companion /sync answers sent before the projection held every join or leave of the homeserver's timeline (the feed lagged longer than the wait; the next answer carries them)",
      registers: [registry],
    });
  }

  /** Homeserver long-polls left running when the project's side answered first, for the client's next request. */
  private readonly sharedPolls = new SharedUpstreamPolls<HomeserverAnswer>({
    maxEntries: SHARED_UPSTREAM_POLLS,
    keepAnswerMs: KEEP_UPSTREAM_ANSWER_MS,
  });
  private readonly upstreamSyncs: Counter<'kind'>;
  private readonly feedBehind: Counter;
  /** Until when answers do not wait for the feed (it was found behind). */
  private feedBehindUntil = 0;

  async sync(
    requester: Requester,
    token: string,
    tokenHash: string,
    query: Readonly<Record<string, unknown>>,
    closed: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const since = this.since(single(query['since'], 'since'));
    const timeoutText = single(query['timeout'], 'timeout');
    let timeoutMs: number | undefined;
    if (timeoutText !== undefined) {
      if (!/^[0-9]{1,10}$/.test(timeoutText)) throw MatrixErrors.invalidParam('timeout must be a non-negative integer');
      timeoutMs = Math.min(Number(timeoutText), this.config.sync.maxTimeoutMs);
    }
    const fullState = single(query['full_state'], 'full_state') === 'true';
    const filter = await this.filterOf(requester.userId, token, single(query['filter'], 'filter'));
    const syncer: Syncer = { userId: requester.userId, deviceId: requester.deviceId, tokenHash };

    // The project's positions: the token's, unless they belong to another projection or the projection cannot be read.
    let positions: SyncPositions | undefined = since?.positions;
    let projectionUp = true;
    if (positions !== undefined) {
      try {
        if (!(await this.syncs.positionsFit(positions))) positions = undefined;
      } catch (error) {
        projectionUp = false;
        this.logger.warn({ err: error }, 'the projection cannot be read; answering without a users section');
      }
    }

    const cancelHomeserver = new AbortController();
    const stopWaiting = new AbortController();
    const onClose = () => {
      cancelHomeserver.abort();
      stopWaiting.abort();
    };
    closed.addEventListener('abort', onClose, { once: true });
    if (closed.aborted) onClose();
    // Registered for logouts heard from any replica (and bounded per user, as in standalone mode).
    const parked = this.longPolls.park(requester.userId, tokenHash);
    // A long-poll from a position joins the homeserver poll an earlier request of this token left
    // running for the same position (see SharedUpstreamPolls); its end releases it instead of
    // cancelling it. Other requests (initial syncs, timeout 0) have a poll of their own.
    const homeserverQuery = homeserverSyncQuery(query, since?.homeserver, timeoutMs);
    const startPoll = (cancel: AbortSignal) =>
      this.homeserver.get('/_matrix/client/v3/sync', { token, query: homeserverQuery, waitMs: timeoutMs ?? 0, cancel });
    const shared =
      since !== undefined && (timeoutMs ?? 0) > 0
        ? this.sharedPolls.join(`${tokenHash}\n${homeserverSyncQuery(query, since.homeserver, undefined).toString()}`, startPoll)
        : undefined;
    if (shared) this.upstreamSyncs.inc({ kind: shared.reused ? 'joined' : 'started' });
    let consumed = false;
    try {
      const homeserver: Promise<Outcome> = (shared ? shared.answer : startPoll(cancelHomeserver.signal)).then(
        (answer) => ({ kind: 'homeserver', answer }),
        (error: unknown) => ({ kind: 'homeserverFailed', error }),
      );
      const contenders: Promise<Outcome>[] = [homeserver, this.watchToken(token, parked.poll, since !== undefined, stopWaiting.signal)];
      // A long-poll from a position of ours: the projection may have news before the homeserver does.
      if (projectionUp && since !== undefined && positions !== undefined && !fullState && (timeoutMs ?? 0) > 0) {
        contenders.push(
          this.syncs.companionWait(syncer, filter, positions, stopWaiting.signal).then(
            (result) => (result ? { kind: 'project', result } : new Promise<never>(() => undefined)),
            (error: unknown) => {
              this.logger.warn({ err: error }, 'waiting on the projection failed; waiting on the homeserver alone');
              return new Promise<never>(() => undefined);
            },
          ),
        );
      }
      const outcome = await Promise.race(contenders);
      if (outcome.kind === 'project') {
        cancelHomeserver.abort();
        return projectOnlySync(since!.homeserver, outcome.result.positions, outcome.result.users, this.syncs.usersSectionName);
      }
      if (outcome.kind === 'tokenRefused') {
        cancelHomeserver.abort();
        this.longPolls.tokenDeleted();
        throw outcome.error;
      }
      if (outcome.kind === 'released') {
        cancelHomeserver.abort();
        // Nothing new from either side: the client's own position again.
        return positions === undefined
          ? { next_batch: since!.homeserver }
          : projectOnlySync(since!.homeserver, positions, new Map(), this.syncs.usersSectionName);
      }
      stopWaiting.abort();
      if (outcome.kind === 'homeserverFailed') {
        if (outcome.error instanceof HomeserverRequestCancelled) throw MatrixErrors.unknown('The client went away');
        throw outcome.error;
      }
      const { answer } = outcome;
      consumed = true;
      if (answer.status !== 200) {
        if (answer.status === 401 && this.resolver instanceof HomeserverRequesterResolver) this.resolver.forget(token);
        throw homeserverError(answer);
      }
      const nextBatch = answer.body['next_batch'];
      if (typeof nextBatch !== 'string' || nextBatch === '') throw MatrixErrors.unknown('The homeserver answered without next_batch', 502);
      let users: CompanionUsersResult | undefined;
      if (projectionUp) {
        try {
          const rooms = homeserverRooms(answer.body);
          // An incremental answer's joins and leaves: wait (briefly) until the feed brought them to the projection.
          if (since !== undefined && filter.profileFields.length > 0 && Date.now() >= this.feedBehindUntil) {
            const missing = await this.syncs.companionAwaitMembers(timelineMemberEvents(rooms), FEED_CATCH_UP_MS, closed);
            if (missing > 0) {
              this.feedBehind.inc();
              this.feedBehindUntil = Date.now() + FEED_BEHIND_BACKOFF_MS;
              this.logger.warn({ missing }, 'the Application Service feed is behind the homeserver; answering without waiting for a while');
            }
          }
          users = await this.syncs.companionUsers(syncer, filter, positions, fullState, rooms);
        } catch (error) {
          this.logger.warn({ err: error }, 'the projection cannot be read; answering without a users section');
        }
      }
      return mergeCompanionSync(answer.body, nextBatch, users?.positions ?? positions, users?.users, this.syncs.usersSectionName);
    } finally {
      closed.removeEventListener('abort', onClose);
      stopWaiting.abort();
      parked.leave();
      shared?.release(consumed);
    }
  }

  /**
   * Settles when the request must end for its token: a deletion was heard (a logout through any
   * replica, or a reconnect of the listener) and the homeserver now refuses the token; or a newer
   * long-poll of the user released this one (only when there is a `since` to answer from).
   * Never settles otherwise.
   */
  private async watchToken(token: string, poll: ParkedLongPoll, canAnswerEmpty: boolean, stop: AbortSignal): Promise<Outcome> {
    const stopped = new Promise<void>((resolve) =>
      stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true }),
    );
    const isStopped = () => stop.aborted;
    while (!isStopped()) {
      await Promise.race([poll.signalled(), stopped]);
      if (isStopped()) break;
      if (poll.takeTokenDoubt()) {
        try {
          await this.resolver.resolve(token);
        } catch (error) {
          // Only the homeserver's refusal of the token ends the request; an unreachable homeserver
          // (its own /sync fails by itself then) is no answer about the token.
          if (error instanceof MatrixError && isTokenRefusal(error.status)) return { kind: 'tokenRefused', error };
          this.logger.warn({ err: error }, 'could not check a parked long-poll’s token again; it keeps waiting');
        }
      }
      if (poll.released) {
        if (canAnswerEmpty) return { kind: 'released' };
        break;
      }
    }
    return new Promise<never>(() => undefined);
  }

  private since(text: string | undefined): CompanionSyncToken | undefined {
    if (text === undefined || text === '') return undefined;
    try {
      return decodeCompanionSyncToken(text);
    } catch (error) {
      if (error instanceof MalformedSyncTokenError) throw MatrixErrors.invalidParam('Malformed since token');
      throw error;
    }
  }

  /**
   * The filter the users section follows: inline JSON as given, a filter ID as the homeserver
   * stores it. What the homeserver would refuse is left to it (its `/sync` answers the error).
   */
  private async filterOf(userId: string, token: string, text: string | undefined): Promise<SyncFilter> {
    let definition: Record<string, unknown> = {};
    if (text !== undefined && text !== '') {
      if (text.startsWith('{')) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) definition = parsed as Record<string, unknown>;
        } catch {
          // Malformed: the homeserver answers 400 M_NOT_JSON.
        }
      } else {
        definition = (await this.homeserver.filter(userId, token, text)) ?? {};
      }
    }
    return this.syncs.parseFilter(definition);
  }
}
