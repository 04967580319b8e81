import {
  type ProfileDifference,
  parseHomeserverProfile,
  profileDifferences,
  profilePath,
  repairApplied,
  repairEntries,
  summarizeDifferences,
} from '@mx/companion';
import { loadAppConfig } from '@mx/config';
import { createKafkaClient, KafkajsProducer } from '@mx/event-log';
import { encodeProfileTopicEvent, type ProfileFieldObserved } from '@mx/events';
import { type Database, openDatabase, profileFields } from '@mx/storage';
import {
  appendAcknowledged,
  CommandExit,
  companionHomeserver,
  EXIT,
  listLocalUsers,
  parseFlags,
  positiveIntegerFlag,
  progressReporter,
} from './companion-command-support.js';

const COMMAND = 'companion-verify';

export const COMPANION_VERIFY_USAGE = `${COMMAND} [--admin-token <token>] [--repair] [--timeout-ms <ms>] [--sample <n>]
  Compares every local user's profile at the homeserver (displayname, avatar_url, custom fields;
  the source of truth) with the projection's latest values, and prints the differences.
  --repair          append events that make the projection equal to the homeserver, and wait until it shows them
  --timeout-ms      how long --repair waits for the projection (default 60000)
  --sample <n>      how many differences to print (default 20)
  exit: 0 equal (or repaired), 1 failed, 2 differences found and not repaired, 64 usage, 77 token refused, 78 configuration`;

/** Users read per round: their profiles from the homeserver, then their rows from the projection. */
const USERS_PER_ROUND = 50;

const describe = (value: unknown) => (value === null ? 'unset' : JSON.stringify(value).slice(0, 120));

export async function companionVerify(args: readonly string[]): Promise<void> {
  const flags = parseFlags(COMMAND, args, { valued: ['admin-token', 'timeout-ms', 'sample'], switches: ['repair'] });
  const timeoutMs = positiveIntegerFlag(COMMAND, flags, 'timeout-ms', 60_000)!;
  const sampleSize = positiveIntegerFlag(COMMAND, flags, 'sample', 20)!;
  const repair = flags.get('repair') === true;
  const config = loadAppConfig(process.env, { httpPort: 0 });
  const homeserver = companionHomeserver(COMMAND, config, flags.get('admin-token') as string | undefined);
  const userIds = await listLocalUsers(homeserver);
  const database = await openDatabase(config.database);
  try {
    const differences: ProfileDifference[] = [];
    const repairs: ProfileFieldObserved[] = [];
    const report = progressReporter(`${COMMAND}: users`);
    for (let start = 0; start < userIds.length; start += USERS_PER_ROUND) {
      const round = userIds.slice(start, start + USERS_PER_ROUND);
      // Taken before the homeserver is read: a stored value at least this new changed during the read.
      const readStartedAt = Date.now();
      const profiles = new Map<string, ReadonlyMap<string, unknown>>();
      for (const userId of round) {
        const profile = parseHomeserverProfile(userId, (await homeserver.profile(profilePath(userId))) ?? {});
        for (const skipped of profile.skipped) {
          process.stderr.write(`warn: ${COMMAND}: not compared: a profile field of ${userId} ${JSON.stringify(skipped)}\n`);
        }
        profiles.set(userId, profile.fields);
      }
      const stored = await profileFields.storedFieldsOf(database.db, round);
      for (const userId of round) {
        const found = profileDifferences(
          userId,
          profiles.get(userId)!,
          stored.filter((row) => row.userId === userId),
          readStartedAt,
        );
        differences.push(...found);
        if (repair) repairs.push(...repairEntries(found, readStartedAt));
      }
      report(Math.min(start + USERS_PER_ROUND, userIds.length), userIds.length, `differences ${differences.length}`);
    }

    process.stdout.write(`${COMMAND}: users ${userIds.length}, differences ${summarizeDifferences(differences)}\n`);
    for (const difference of differences.slice(0, sampleSize)) {
      process.stdout.write(
        `  ${difference.userId} ${difference.field}: ${difference.kind}, homeserver ${describe(difference.homeserver)}, projection ${describe(difference.projection)}${difference.changedDuringRead ? ' (changed during verify)' : ''}\n`,
      );
    }
    if (differences.length > sampleSize) process.stdout.write(`  … and ${differences.length - sampleSize} more\n`);
    if (differences.length === 0) return;
    if (!repair) throw new CommandExit(EXIT.differences, `${COMMAND}: the projection differs from the homeserver (repair with --repair)`);

    await appendRepairs(config, repairs);
    process.stderr.write(`${COMMAND}: appended ${repairs.length} repairs; waiting for the projection\n`);
    await waitUntilShown(database.db, repairs, timeoutMs);
    const unrepaired = differences.length - repairs.length;
    if (unrepaired > 0) {
      throw new CommandExit(
        EXIT.differences,
        `${COMMAND}: repaired ${repairs.length}; ${unrepaired} changed during verify and were left alone: run it again`,
      );
    }
    process.stdout.write(`${COMMAND}: repaired ${repairs.length} differences; the projection shows them\n`);
  } finally {
    await database.close();
  }
}

async function appendRepairs(config: ReturnType<typeof loadAppConfig>, repairs: readonly ProfileFieldObserved[]): Promise<void> {
  const producer = new KafkajsProducer(
    createKafkaClient(config.kafka, {
      debug: () => undefined,
      info: () => undefined,
      warn: (context: object, message: string) => process.stderr.write(`warn: ${message} ${JSON.stringify(context)}\n`),
      error: (context: object, message: string) => process.stderr.write(`error: ${message} ${JSON.stringify(context)}\n`),
    }),
    config.kafka.ackTimeoutMs,
  );
  try {
    await producer.connect();
    await appendAcknowledged(
      producer,
      config.topics.profile,
      repairs.map((entry) => ({ key: entry.user_id, value: encodeProfileTopicEvent(entry) })),
    );
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/** Polls the projection until every repair shows (or a newer change replaced it); exit 1 past the deadline. */
async function waitUntilShown(db: Database, repairs: readonly ProfileFieldObserved[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...repairs];
  for (;;) {
    const stored = await profileFields.storedFieldsOf(db, [...new Set(pending.map((entry) => entry.user_id))]);
    pending = pending.filter(
      (entry) =>
        !repairApplied(
          entry,
          stored.find((row) => row.userId === entry.user_id && row.field === entry.field),
        ),
    );
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      throw new CommandExit(
        EXIT.failed,
        `${COMMAND}: the projection did not show ${pending.length} of ${repairs.length} repairs within ${timeoutMs} ms (is the projector running?); first: ${pending[0]!.user_id} ${pending[0]!.field}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
