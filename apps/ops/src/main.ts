import 'reflect-metadata';
import { ConfigValidationError, loadAppConfig } from '@mx/config';
import { createKafkaClient, KafkajsAdmin } from '@mx/event-log';
import { runMigrations } from '@mx/storage';
import { topicSpecs } from './topic-specs.js';
import { companionBootstrap, COMPANION_BOOTSTRAP_USAGE } from './companion-bootstrap.js';
import { CommandExit } from './companion-command-support.js';
import { HomeserverRequestError } from './companion-homeserver-client.js';
import { companionVerify, COMPANION_VERIFY_USAGE } from './companion-verify.js';

/**
 * Operator commands (also run by the Helm hook Jobs):
 *   migrate            apply pending database migrations
 *   provision-topics   create missing Kafka topics
 *   setup              both
 *   companion-bootstrap   companion mode: append what the homeserver held before installation (see its usage)
 *   companion-verify      companion mode: compare the homeserver's profiles with the projection, --repair
 */
const log = {
  debug: () => undefined,
  info: (context: object, message: string) => process.stderr.write(`${message} ${JSON.stringify(context)}\n`),
  warn: (context: object, message: string) => process.stderr.write(`warn: ${message} ${JSON.stringify(context)}\n`),
  error: (context: object, message: string) => process.stderr.write(`error: ${message} ${JSON.stringify(context)}\n`),
};

async function migrate(): Promise<void> {
  const config = loadAppConfig(process.env, { httpPort: 0 });
  const applied = await runMigrations(config.database);
  process.stdout.write(applied.length > 0 ? `applied migrations: ${applied.join(', ')}\n` : 'database schema is up to date\n');
}

async function provisionTopics(): Promise<void> {
  const config = loadAppConfig(process.env, { httpPort: 0 });
  const admin = new KafkajsAdmin(createKafkaClient(config.kafka, log));
  try {
    const specs = topicSpecs(config);
    const result = await admin.ensureTopics(specs);
    const counts = await admin.partitionCounts(specs.map((spec) => spec.name));
    specs.forEach((spec, index) => {
      if (counts[index] !== spec.partitions) {
        process.stderr.write(
          `warn: ${spec.name} has ${counts[index]} partitions, config asks for ${spec.partitions}; topics are never altered automatically\n`,
        );
      }
    });
    process.stdout.write(
      `topics created: ${result.created.join(', ') || 'none'}; already present: ${result.existing.join(', ') || 'none'}\n`,
    );
  } finally {
    await admin.close();
  }
}

const commands: Record<string, (args: readonly string[]) => Promise<void>> = {
  migrate,
  'provision-topics': provisionTopics,
  setup: async () => {
    await migrate();
    await provisionTopics();
  },
  'companion-bootstrap': companionBootstrap,
  'companion-verify': companionVerify,
};

const name = process.argv[2] ?? '';
const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
if (!command) {
  process.stderr.write(`usage: ops <${Object.keys(commands).join('|')}>\n\n${COMPANION_BOOTSTRAP_USAGE}\n\n${COMPANION_VERIFY_USAGE}\n`);
  process.exit(64);
}
try {
  await command(process.argv.slice(3));
} catch (error) {
  // The companion commands end with their own exit codes (see their usage).
  if (error instanceof CommandExit) {
    process.stderr.write(`${error.message}\n`);
    if (error.exitCode === 64)
      process.stderr.write(`usage: ${name === 'companion-verify' ? COMPANION_VERIFY_USAGE : COMPANION_BOOTSTRAP_USAGE}\n`);
    process.exit(error.exitCode);
  }
  if (error instanceof HomeserverRequestError) {
    process.stderr.write(`${name} failed: the homeserver: ${error.message}\n`);
    process.exit(error.refusedCredentials ? 77 : 1);
  }
  // A bad configuration prints its problem list and exits 78 (EX_CONFIG), as the services do.
  if (error instanceof ConfigValidationError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
