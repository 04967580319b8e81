import { type LocalUser, parseRoomsPage, parseUsersPage, ROOMS_PATH, USERS_PATH } from '@mx/companion';
import { type AppConfig, ConfigValidationError } from '@mx/config';
import type { EventLogProducer, LogRecord } from '@mx/event-log';
import { HomeserverClient } from './companion-homeserver-client.js';

/** What the companion commands share: their flags, exit codes, the homeserver's lists, appending in chunks. */

/** Exit codes (sysexits.h where one fits), named in the usage text. */
export const EXIT = {
  ok: 0,
  failed: 1,
  /** companion-verify: differences found and not (all) repaired. */
  differences: 2,
  usage: 64,
  /** companion-bootstrap stopped before the end (--max-items, SIGINT, SIGTERM): run it again to resume. */
  incomplete: 75,
  /** The homeserver refused the admin token or the as_token. */
  refused: 77,
  config: 78,
} as const;

/** Ends a command with an exit code and a message on stderr (not a crash: the message says what to do). */
export class CommandExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CommandExit';
  }
}

export interface FlagSpec {
  /** Flags that take a value (`--name value` or `--name=value`). */
  readonly valued: readonly string[];
  /** Flags without a value. */
  readonly switches: readonly string[];
}

/** Reads `args` against `spec`; an unknown flag, a missing value or a stray argument is a usage error (64). */
export function parseFlags(command: string, args: readonly string[], spec: FlagSpec): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new CommandExit(EXIT.usage, `${command}: unexpected argument ${JSON.stringify(arg)}`);
    const name = match[1]!;
    if (spec.switches.includes(name) && match[2] === undefined) flags.set(name, true);
    else if (spec.valued.includes(name)) {
      const value = match[2] ?? args[++index];
      if (value === undefined || value === '') throw new CommandExit(EXIT.usage, `${command}: --${name} needs a value`);
      flags.set(name, value);
    } else throw new CommandExit(EXIT.usage, `${command}: unknown flag --${name}`);
  }
  return flags;
}

/** A flag's positive integer value, or `fallback`. */
export function positiveIntegerFlag(command: string, flags: Map<string, string | true>, name: string, fallback: number | undefined) {
  const value = flags.get(name);
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^[1-9]\d{0,9}$/.test(value)) {
    throw new CommandExit(EXIT.usage, `${command}: --${name} takes a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** The homeserver client of a companion command; refuses to run outside companion mode (78). */
export function companionHomeserver(command: string, config: AppConfig, adminTokenFlag: string | undefined): HomeserverClient {
  const problems: string[] = [];
  if (config.mode !== 'companion') problems.push(`MX_MODE: ${command} runs in companion mode only (got ${config.mode})`);
  if (!config.upstream || !config.appservice) problems.push('MX_UPSTREAM_URL and MX_APPSERVICE_AS_TOKEN are required');
  if (problems.length > 0 || !config.upstream || !config.appservice) throw new ConfigValidationError(problems);
  return new HomeserverClient(
    config.upstream.url,
    { admin: adminTokenFlag ?? config.upstreamAdminToken, appservice: config.appservice.asToken },
    config.upstream.timeoutMs,
  );
}

const PAGE_SIZE = 500;

/** Every room of the homeserver (admin API, all pages), each once. */
export async function listAllRooms(homeserver: HomeserverClient): Promise<string[]> {
  const rooms = new Set<string>();
  let from: string | undefined = '0';
  while (from !== undefined) {
    const page = parseRoomsPage(
      await homeserver.admin(`${ROOMS_PATH}?${new URLSearchParams({ from, limit: String(PAGE_SIZE) }).toString()}`),
    );
    for (const roomId of page.roomIds) rooms.add(roomId);
    from = page.roomIds.length === 0 ? undefined : page.next;
  }
  return [...rooms];
}

/** Every local user that is not deactivated (admin API, all pages), each once. */
export async function listLocalUsers(homeserver: HomeserverClient): Promise<string[]> {
  const users = new Set<string>();
  let from: string | undefined = '0';
  while (from !== undefined) {
    const query = new URLSearchParams({ from, limit: String(PAGE_SIZE), deactivated: 'false' });
    const page = parseUsersPage(await homeserver.admin(`${USERS_PATH}?${query.toString()}`));
    for (const user of page.users.filter((listed: LocalUser) => !listed.deactivated)) users.add(user.userId);
    from = page.users.length === 0 ? undefined : page.next;
  }
  return [...users];
}

/** Most records per append (one produce request stays well under the broker's batch limit). */
const APPEND_CHUNK = 200;

/** Appends `records` in order, in chunks, each acknowledged by the broker before the next. */
export async function appendAcknowledged(producer: EventLogProducer, topic: string, records: readonly LogRecord[]): Promise<void> {
  for (let start = 0; start < records.length; start += APPEND_CHUNK) {
    await producer.append(topic, records.slice(start, start + APPEND_CHUNK));
  }
}

/** Writes a progress line to stderr at most once a second (and always for the last item). */
export function progressReporter(label: string): (done: number, total: number, detail: string) => void {
  let last = 0;
  return (done, total, detail) => {
    const now = Date.now();
    if (done !== total && done !== 1 && now - last < 1000) return;
    last = now;
    process.stderr.write(`${label} ${done}/${total}, ${detail}\n`);
  };
}
