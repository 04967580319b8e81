import { readFileSync, writeFileSync } from 'node:fs';
import {
  decodeSnapshotFile,
  encodeSnapshotFile,
  type HomeserverSnapshot,
  memberSnapshotEntries,
  parseHomeserverProfile,
  parseRoomState,
  profilePath,
  profileSnapshotEntries,
  roomMemberStatePath,
} from '@mx/companion';
import { type AppConfig, loadAppConfig } from '@mx/config';
import { createKafkaClient, type EventLogLogger, type EventLogProducer, KafkajsProducer, type LogRecord } from '@mx/event-log';
import { encodeProfileTopicEvent, encodeRoomLogEntry } from '@mx/events';
import { companionBootstrapProgress, type Database, openDatabase } from '@mx/storage';
import {
  appendAcknowledged,
  CommandExit,
  companionHomeserver,
  EXIT,
  listAllRooms,
  listLocalUsers,
  parseFlags,
  positiveIntegerFlag,
  progressReporter,
} from './companion-command-support.js';
import type { HomeserverClient } from './companion-homeserver-client.js';

const COMMAND = 'companion-bootstrap';

export const COMPANION_BOOTSTRAP_USAGE = `${COMMAND} [--admin-token <token>] [--restart] [--max-items <n>] [--save-snapshot <file> | --from-snapshot <file>]
  Appends what the homeserver held before the project was installed (every room's member events,
  every local user's displayname, avatar_url and custom profile fields) as snapshot events, through
  the event log; resumable (checkpoint table companion_bootstrap_progress), idempotent.
  --admin-token     a homeserver admin's token (default: MX_UPSTREAM_ADMIN_TOKEN)
  --restart         forget the checkpoint and append everything again (changes nothing already applied)
  --max-items <n>   stop after n rooms/users (exit 75; run again to resume)
  --save-snapshot   read the homeserver into <file>, append nothing
  --from-snapshot   append a snapshot read earlier with --save-snapshot, instead of reading the homeserver
  exit: 0 done, 1 failed (run again to resume), 64 usage, 75 stopped before the end, 77 token refused, 78 configuration`;

/** The source of the snapshot: the homeserver read now, or a file read earlier. */
interface SnapshotSource {
  readonly roomIds: readonly string[];
  readonly userIds: readonly string[];
  memberEventsOf(roomId: string): Promise<readonly unknown[]>;
  profileOf(userId: string): Promise<unknown>;
}

function homeserverSource(homeserver: HomeserverClient, roomIds: string[], userIds: string[]): SnapshotSource {
  return {
    roomIds,
    userIds,
    memberEventsOf: async (roomId) => parseRoomState(roomId, await homeserver.admin(roomMemberStatePath(roomId))),
    profileOf: async (userId) => (await homeserver.profile(profilePath(userId))) ?? {},
  };
}

function fileSource(snapshot: HomeserverSnapshot): SnapshotSource {
  const rooms = new Map(snapshot.rooms.map((room) => [room.roomId, room.memberEvents]));
  const users = new Map(snapshot.users.map((user) => [user.userId, user.profile]));
  return {
    roomIds: [...rooms.keys()],
    userIds: [...users.keys()],
    memberEventsOf: (roomId) => Promise.resolve(rooms.get(roomId) ?? []),
    profileOf: (userId) => Promise.resolve(users.get(userId) ?? {}),
  };
}

const kafkaLog: EventLogLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (context: object, message: string) => process.stderr.write(`warn: ${message} ${JSON.stringify(context)}\n`),
  error: (context: object, message: string) => process.stderr.write(`error: ${message} ${JSON.stringify(context)}\n`),
};

export async function companionBootstrap(args: readonly string[]): Promise<void> {
  const flags = parseFlags(COMMAND, args, {
    valued: ['admin-token', 'max-items', 'save-snapshot', 'from-snapshot'],
    switches: ['restart'],
  });
  const maxItems = positiveIntegerFlag(COMMAND, flags, 'max-items', undefined);
  const saveTo = flags.get('save-snapshot') as string | undefined;
  const readFrom = flags.get('from-snapshot') as string | undefined;
  if (saveTo !== undefined && readFrom !== undefined) {
    throw new CommandExit(EXIT.usage, `${COMMAND}: --save-snapshot and --from-snapshot exclude each other`);
  }
  const config = loadAppConfig(process.env, { httpPort: 0 });
  const homeserver = companionHomeserver(COMMAND, config, flags.get('admin-token') as string | undefined);

  if (saveTo !== undefined) {
    await saveSnapshot(config, homeserver, saveTo);
    return;
  }
  let source: SnapshotSource;
  if (readFrom !== undefined) {
    let snapshot: HomeserverSnapshot;
    try {
      snapshot = decodeSnapshotFile(readFileSync(readFrom, 'utf8'));
    } catch (error) {
      throw new CommandExit(EXIT.failed, `${COMMAND}: ${readFrom}: ${error instanceof Error ? error.message : String(error)}`);
    }
    source = fileSource(snapshot);
    process.stderr.write(
      `${COMMAND}: appending the snapshot of ${snapshot.homeserver} read at ${new Date(snapshot.readAt).toISOString()} from ${readFrom}\n`,
    );
  } else {
    const [roomIds, userIds] = [await listAllRooms(homeserver), await listLocalUsers(homeserver)];
    source = homeserverSource(homeserver, roomIds, userIds);
  }

  const database = await openDatabase(config.database);
  const producer = new KafkajsProducer(createKafkaClient(config.kafka, kafkaLog), config.kafka.ackTimeoutMs);
  const stop = { requested: undefined as string | undefined };
  const onSignal = (signal: string) => {
    stop.requested = signal;
    process.stderr.write(`${COMMAND}: ${signal}: stopping after the current item\n`);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    if (flags.get('restart') === true) {
      const forgotten = await companionBootstrapProgress.clear(database.db);
      process.stderr.write(`${COMMAND}: --restart: checkpoint of ${forgotten} items forgotten\n`);
    }
    await producer.connect();
    const outcome = await appendSnapshot(config, database.db, producer, source, { maxItems, stop });
    const line = `rooms ${outcome.rooms.done}/${source.roomIds.length} (${outcome.rooms.skipped} done before), users ${outcome.users.done}/${source.userIds.length} (${outcome.users.skipped} done before), events appended ${outcome.events}`;
    if (outcome.stoppedBy !== undefined) {
      throw new CommandExit(EXIT.incomplete, `${COMMAND}: stopped (${outcome.stoppedBy}): ${line}; run it again to resume`);
    }
    process.stdout.write(`${COMMAND}: complete: ${line}\n`);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await producer.disconnect().catch(() => undefined);
    await database.close();
  }
}

interface AppendOutcome {
  readonly rooms: { done: number; skipped: number };
  readonly users: { done: number; skipped: number };
  events: number;
  stoppedBy: string | undefined;
}

/**
 * Rooms first (membership topic, key: room ID; their members' names on the profile topic), then
 * local users' profiles (profile topic, key: user ID). An item is checkpointed only after the broker
 * acknowledged all its events; a crash in between appends them again on the next run, which the
 * projector applies once (same event IDs and ordering stamps).
 */
async function appendSnapshot(
  config: AppConfig,
  db: Database,
  producer: EventLogProducer,
  source: SnapshotSource,
  limits: { readonly maxItems: number | undefined; readonly stop: { readonly requested: string | undefined } },
): Promise<AppendOutcome> {
  const outcome: AppendOutcome = { rooms: { done: 0, skipped: 0 }, users: { done: 0, skipped: 0 }, events: 0, stoppedBy: undefined };
  let itemsThisRun = 0;
  const shouldStop = (): boolean => {
    if (limits.stop.requested !== undefined) outcome.stoppedBy = limits.stop.requested;
    else if (limits.maxItems !== undefined && itemsThisRun >= limits.maxItems) outcome.stoppedBy = `--max-items ${limits.maxItems}`;
    return outcome.stoppedBy !== undefined;
  };

  const roomsDone = await companionBootstrapProgress.completedItems(db, 'room');
  const reportRoom = progressReporter(`${COMMAND}: rooms`);
  for (const roomId of source.roomIds) {
    if (roomsDone.has(roomId)) {
      outcome.rooms.done += 1;
      outcome.rooms.skipped += 1;
      continue;
    }
    if (shouldStop()) return outcome;
    const snapshot = memberSnapshotEntries(roomId, await source.memberEventsOf(roomId));
    for (const refused of snapshot.malformed) {
      process.stderr.write(`warn: ${COMMAND}: skipped a member event of ${roomId} ${JSON.stringify(refused)}\n`);
    }
    const memberships: LogRecord[] = snapshot.memberships.map((entry) => ({ key: entry.room_id, value: encodeRoomLogEntry(entry) }));
    const fields: LogRecord[] = snapshot.fields.map((entry) => ({ key: entry.user_id, value: encodeProfileTopicEvent(entry) }));
    await Promise.all([
      appendAcknowledged(producer, config.topics.membership, memberships),
      appendAcknowledged(producer, config.topics.profile, fields),
    ]);
    await companionBootstrapProgress.markCompleted(db, 'room', roomId, memberships.length + fields.length);
    outcome.events += memberships.length + fields.length;
    outcome.rooms.done += 1;
    itemsThisRun += 1;
    reportRoom(outcome.rooms.done, source.roomIds.length, `events appended ${outcome.events}`);
  }

  const usersDone = await companionBootstrapProgress.completedItems(db, 'user');
  const reportUser = progressReporter(`${COMMAND}: users`);
  for (const userId of source.userIds) {
    if (usersDone.has(userId)) {
      outcome.users.done += 1;
      outcome.users.skipped += 1;
      continue;
    }
    if (shouldStop()) return outcome;
    const profile = parseHomeserverProfile(userId, await source.profileOf(userId));
    for (const skipped of profile.skipped) {
      process.stderr.write(`warn: ${COMMAND}: skipped a profile field of ${userId} ${JSON.stringify(skipped)}\n`);
    }
    const records: LogRecord[] = profileSnapshotEntries(userId, profile).map((entry) => ({
      key: entry.user_id,
      value: encodeProfileTopicEvent(entry),
    }));
    await appendAcknowledged(producer, config.topics.profile, records);
    await companionBootstrapProgress.markCompleted(db, 'user', userId, records.length);
    outcome.events += records.length;
    outcome.users.done += 1;
    itemsThisRun += 1;
    reportUser(outcome.users.done, source.userIds.length, `events appended ${outcome.events}`);
  }
  return outcome;
}

/** Reads everything into a file (no database, no broker): rooms' member events and local users' profiles. */
async function saveSnapshot(config: AppConfig, homeserver: HomeserverClient, file: string): Promise<void> {
  const readAt = Date.now();
  const [roomIds, userIds] = [await listAllRooms(homeserver), await listLocalUsers(homeserver)];
  const source = homeserverSource(homeserver, roomIds, userIds);
  const reportRoom = progressReporter(`${COMMAND}: rooms read`);
  const rooms = [];
  for (const roomId of roomIds) {
    rooms.push({ roomId, memberEvents: await source.memberEventsOf(roomId) });
    reportRoom(rooms.length, roomIds.length, `member events ${rooms.reduce((sum, room) => sum + room.memberEvents.length, 0)}`);
  }
  const reportUser = progressReporter(`${COMMAND}: users read`);
  const users = [];
  for (const userId of userIds) {
    const profile = await source.profileOf(userId);
    // Checked now, so a bad answer fails the read rather than the append.
    parseHomeserverProfile(userId, profile);
    users.push({ userId, profile: profile as Record<string, unknown> });
    reportUser(users.length, userIds.length, 'profiles');
  }
  writeFileSync(file, encodeSnapshotFile({ homeserver: config.upstream?.url ?? '', readAt, rooms, users }), { mode: 0o600 });
  process.stdout.write(`${COMMAND}: snapshot saved to ${file}: rooms ${rooms.length}, users ${users.length}\n`);
}
