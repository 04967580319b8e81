import { assertLoopbackUrl } from './loopback.js';

/**
 * Run order: memory first (a fresh process), hop right after fan-out (both are latency runs on a
 * server not yet grown by the heavy scenarios), replay after the writes (it replays everything the
 * run wrote), scale-out next to last (it kills processes and restarts the broker), hostile last (it
 * trips the rate limits of the harness's address and, on a server that accepts poison values, can
 * stall a partition for good).
 */
export const SCENARIO_NAMES = ['memory', 'fanout', 'hop', 'writes', 'idle', 'initial', 'replay', 'scaleout', 'hostile'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];
/** What runs without --scenarios: everything but the hostile mix, which runs only when named. */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIO_NAMES.filter((name) => name !== 'hostile');

/**
 * The default scenarios of a target: never hostile (only when named); hop needs messages
 * (`m.room.message`), which the project's standalone mode does not serve, so not for `project`.
 */
export function defaultScenarios(target: string): ScenarioName[] {
  return DEFAULT_SCENARIOS.filter((name) => name !== 'hop' || target !== 'project');
}

/**
 * The label of a server when --target is not given: from the port (8008 project, 8448 synapse).
 * Companion mode's router listens on 8008 too, so `companion` is always named explicitly.
 */
export function targetFromPort(port: string): string {
  return port === '8008' ? 'project' : port === '8448' ? 'synapse' : 'other';
}

export interface Options {
  readonly baseUrl: string;
  /** Origin of /sync (defaults to baseUrl; set it to bypass a router for the long-polls). */
  readonly syncBaseUrl: string;
  /**
   * `project`, `companion`, `synapse` or any label; `project` enables the project-specific scenario
   * parts (standalone stack), `companion` the companion stack's process list and hop defaults.
   */
  readonly target: string;
  readonly quick: boolean;
  readonly seed: number;
  readonly scenarios: readonly ScenarioName[];
  readonly outDir: string;
  readonly stateDir: string;
  readonly projectRoot: string;
  readonly fresh: boolean;
  readonly field: string;
  readonly users: number;
  readonly roomSize: number;
  readonly roomsPerUser: number;
  readonly setupConcurrency: number;
  readonly setupTimeoutS: number;
  readonly fanoutRate: number;
  readonly fanoutDurationS: number;
  readonly fanoutSettleS: number;
  readonly fanoutLongPollMs: number;
  readonly fanoutMaxInFlight: number;
  readonly writesConcurrency: number;
  readonly writesDurationS: number;
  readonly writesMax: number;
  readonly idleConcurrency: number;
  readonly idleDurationS: number;
  readonly idleUsers: number;
  readonly dbCheck: boolean;
  readonly pgUrl: string | undefined;
  readonly initialSizes: readonly number[];
  readonly initialRepeats: number;
  readonly replayTopUp: number;
  readonly replayTimeoutS: number;
  readonly memoryParked: number;
  readonly hostileDurationS: number;
  readonly hostileConcurrency: number;
  readonly hostileSettleS: number;
  readonly hostileGoodRate: number;
  /** Second /sync origin of the hop scenario (e.g. the companion's own Synapse), or none. */
  readonly hopDirectUrl: string | undefined;
  readonly hopRooms: number;
  readonly hopRate: number;
  readonly hopDurationS: number;
  readonly hopSettleS: number;
  readonly hopRounds: number;
  readonly hopLongPollMs: number;
  readonly hopIdleConcurrency: number;
  readonly hopIdleDurationS: number;
  /** name → pid file, for RSS and CPU readings. */
  readonly pids: ReadonlyMap<string, string>;
  /** Which of `pids` serves /sync (the RSS target applies to it). */
  readonly syncProcess: string | undefined;
}

interface FlagSpec {
  readonly flag: string;
  readonly help: string;
  readonly full: string | number | boolean | undefined;
  readonly quick?: string | number | boolean;
}

/** Every flag, its full-scale default and its --quick default. Each can also be set as MX_BENCH_<FLAG> in the environment. */
export const FLAGS = [
  { flag: 'base-url', help: 'homeserver base URL (loopback only)', full: 'http://127.0.0.1:8008' },
  { flag: 'sync-base-url', help: 'origin for /sync (default: the base URL)', full: undefined },
  {
    flag: 'target',
    help: 'label of the server: project | companion | synapse | <name> (default from the port: 8008 project, 8448 synapse)',
    full: undefined,
  },
  { flag: 'seed', help: 'seed of the user/room layout and of every random choice', full: 4429 },
  {
    flag: 'scenarios',
    help: `comma-separated subset of ${SCENARIO_NAMES.join(',')} (hostile runs only when named, hop not for project)`,
    full: undefined,
  },
  { flag: 'out', help: 'reports directory', full: 'test/bench/reports' },
  { flag: 'state-dir', help: 'where seeded setups (users, tokens, rooms) are remembered for reuse', full: 'test/bench/.state' },
  { flag: 'project-root', help: 'checkout of this project (replay CLI, pid files, local.env)', full: '.' },
  { flag: 'fresh', help: 'ignore remembered setups and seed new users and rooms', full: false },
  { flag: 'field', help: 'profile field the writers change', full: 'com.example.bench' },
  { flag: 'users', help: 'U: users of the social graph (fan-out clients, writers, idle and memory users)', full: 1000, quick: 60 },
  { flag: 'room-size', help: 'S: members per room', full: 10, quick: 6 },
  { flag: 'rooms-per-user', help: 'K: rooms each user is in', full: 2, quick: 2 },
  { flag: 'setup-concurrency', help: 'concurrent requests while seeding', full: 16 },
  { flag: 'setup-timeout', help: 'seconds the seeding may take', full: 3600, quick: 600 },
  { flag: 'fanout-rate', help: 'profile writes per second in the fan-out scenario', full: 100, quick: 20 },
  { flag: 'fanout-duration', help: 'seconds of writing in the fan-out scenario', full: 30, quick: 5 },
  { flag: 'fanout-settle', help: 'seconds to wait for the last deliveries', full: 15, quick: 5 },
  { flag: 'fanout-long-poll', help: 'long-poll timeout (ms) of the fan-out clients', full: 30000 },
  { flag: 'fanout-max-in-flight', help: 'writes in flight beyond which a scheduled write is skipped (counted)', full: 512 },
  { flag: 'writes-concurrency', help: 'concurrent writers in the writes scenario', full: 64, quick: 16 },
  { flag: 'writes-duration', help: 'seconds of the writes scenario', full: 10, quick: 3 },
  { flag: 'writes-max', help: 'upper bound on writes in the writes scenario', full: 200000, quick: 20000 },
  { flag: 'idle-concurrency', help: 'concurrent requests in the idle-sync scenario', full: 64, quick: 16 },
  { flag: 'idle-duration', help: 'seconds of the idle-sync scenario', full: 10, quick: 3 },
  { flag: 'idle-users', help: 'distinct users (tokens) cycled through in the idle-sync scenario', full: 1000, quick: 60 },
  { flag: 'db-check', help: 'count PostgreSQL transactions during the idle scenario (project target only)', full: true },
  { flag: 'pg-url', help: 'PostgreSQL URL for --db-check (default from deploy/local/local.env)', full: undefined },
  { flag: 'initial-sizes', help: 'M values: co-members of the initial-sync user', full: '1000,10000', quick: '50,200' },
  { flag: 'initial-repeats', help: 'measured initial syncs per M (after one warm-up)', full: 5, quick: 3 },
  {
    flag: 'replay-top-up',
    help: 'profile writes added before the replay so it has enough to chew (project only)',
    full: 100000,
    quick: 2000,
  },
  { flag: 'replay-timeout', help: 'seconds the replay may take', full: 900, quick: 300 },
  { flag: 'memory-parked', help: 'long-polls parked in the memory scenario (distinct users, at most U)', full: 1000, quick: 60 },
  { flag: 'hostile-duration', help: 'seconds of the hostile mix', full: 60, quick: 15 },
  { flag: 'hostile-concurrency', help: 'hostile requests in flight at most', full: 16 },
  { flag: 'hostile-settle', help: 'seconds after the hostile mix before the final readings', full: 10, quick: 5 },
  {
    flag: 'hostile-good-rate',
    help: 'good profile writes per second during the hostile mix (spread over every partition)',
    full: 20,
    quick: 10,
  },
  {
    flag: 'hop-direct-url',
    help: "hop: a second /sync origin measured the same way, e.g. the companion's own Synapse (companion: http://127.0.0.1:$MX_SYNAPSE_PORT, 8448; 'none' to skip)",
    full: undefined,
  },
  { flag: 'hop-rooms', help: 'hop: rooms of the social graph with a sender (their members long-poll)', full: 10, quick: 6 },
  { flag: 'hop-rate', help: 'hop: messages per second in all (spread over the rooms, open loop)', full: 5, quick: 5 },
  {
    flag: 'hop-duration',
    help: 'hop: seconds of messages per long-poll phase (one per filter and round, every origin at once)',
    full: 20,
    quick: 5,
  },
  { flag: 'hop-settle', help: 'hop: seconds to wait for the last deliveries of a phase', full: 5, quick: 3 },
  { flag: 'hop-rounds', help: 'hop: rounds of phases (the filter and idle origin order alternate between rounds)', full: 2, quick: 1 },
  { flag: 'hop-long-poll', help: 'hop: long-poll timeout (ms) of the receivers', full: 30000 },
  { flag: 'hop-idle-concurrency', help: 'hop: concurrent idle /sync?timeout=0 requests per idle phase', full: 4 },
  { flag: 'hop-idle-duration', help: 'hop: seconds of each idle phase', full: 10, quick: 3 },
  { flag: 'pid', help: 'name=pidfile of a server process for RSS/CPU (repeatable; defaults per target)', full: undefined },
  { flag: 'sync-process', help: 'which --pid serves /sync (default sync-api, else synapse, else the first)', full: undefined },
] as const satisfies readonly FlagSpec[];

export const USAGE = `usage: npm run bench -- [run] [flags]        run the scenarios, write test/bench/reports/<time>-<target>/
       npm run bench -- compare <dirA> <dirB> [--out file.md]   side-by-side table with ratios

  --quick                      small parameters for a smoke run (reports get a -quick suffix)
${FLAGS.map((spec) => `  --${spec.flag.padEnd(26)} ${spec.help}${spec.full === undefined ? '' : ` [${String(spec.full)}${'quick' in spec ? `; quick ${String(spec.quick)}` : ''}]`}`).join('\n')}

Every flag can also be given as an environment variable MX_BENCH_<FLAG> (e.g. MX_BENCH_BASE_URL).`;

type Raw = Map<string, string[]>;

/** Splits argv into flags (`--name value`, `--name=value`, bare booleans) and positionals. */
export function parseArgv(argv: readonly string[]): { flags: Raw; positionals: string[] } {
  const flags: Raw = new Map();
  const positionals: string[] = [];
  const booleans = new Set(['quick', 'fresh', 'help', 'db-check', 'no-db-check']);
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (booleans.has(name)) value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`--${name} needs a value`);
      value = next;
      i += 1;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, positionals };
}

function envName(flag: string): string {
  return `MX_BENCH_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export function resolveOptions(flags: Raw, env: NodeJS.ProcessEnv): Options {
  const known = new Set<string>([...FLAGS.map((spec) => spec.flag), 'quick', 'help', 'no-db-check']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name} (see --help)`);
  const quick = (flags.get('quick')?.at(-1) ?? env['MX_BENCH_QUICK'] ?? 'false') === 'true';
  const raw = (flag: string): string | undefined => {
    const given = flags.get(flag)?.at(-1) ?? env[envName(flag)];
    if (given !== undefined) return given;
    const spec: FlagSpec | undefined = FLAGS.find((each) => each.flag === flag);
    const fallback = quick && spec && 'quick' in spec ? spec.quick : spec?.full;
    return fallback === undefined ? undefined : String(fallback);
  };
  const int = (flag: string, min: number): number => {
    const text = raw(flag);
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${flag} must be an integer >= ${min}, got ${text}`);
    return value;
  };
  const num = (flag: string, min: number): number => {
    const text = raw(flag);
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${flag} must be a number >= ${min}, got ${text}`);
    return value;
  };
  const bool = (flag: string): boolean => raw(flag) === 'true';

  const baseUrl = raw('base-url')!.replace(/\/$/, '');
  assertLoopbackUrl(baseUrl, '--base-url');
  const syncBaseUrl = (raw('sync-base-url') ?? baseUrl).replace(/\/$/, '');
  assertLoopbackUrl(syncBaseUrl, '--sync-base-url');
  const target = raw('target') ?? targetFromPort(new URL(baseUrl).port);
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(target)) throw new Error(`--target must be a simple label, got ${target}`);
  const hopDirectRaw = raw('hop-direct-url') ?? (target === 'companion' ? `http://127.0.0.1:${env['MX_SYNAPSE_PORT'] ?? '8448'}` : 'none');
  const hopDirectUrl = hopDirectRaw === 'none' || hopDirectRaw === '' ? undefined : hopDirectRaw.replace(/\/$/, '');
  if (hopDirectUrl !== undefined) assertLoopbackUrl(hopDirectUrl, '--hop-direct-url');

  const scenarios = (raw('scenarios') ?? defaultScenarios(target).join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of scenarios)
    if (!(SCENARIO_NAMES as readonly string[]).includes(name))
      throw new Error(`unknown scenario ${name}; choose from ${SCENARIO_NAMES.join(', ')}`);

  const initialSizes = raw('initial-sizes')!
    .split(',')
    .filter(Boolean)
    .map((size) => {
      const value = Number(size);
      if (!Number.isInteger(value) || value < 1) throw new Error(`--initial-sizes must be positive integers, got ${size}`);
      return value;
    })
    .sort((a, b) => a - b);

  const pids = new Map<string, string>();
  for (const entry of [...(env[envName('pid')]?.split(',') ?? []), ...(flags.get('pid') ?? [])]) {
    const eq = entry.indexOf('=');
    if (eq < 1) throw new Error(`--pid must be name=pidfile, got ${entry}`);
    pids.set(entry.slice(0, eq), entry.slice(eq + 1));
  }

  const users = int('users', 2);
  return {
    baseUrl,
    syncBaseUrl,
    target,
    quick,
    seed: int('seed', 0),
    scenarios: SCENARIO_NAMES.filter((name) => scenarios.includes(name)),
    outDir: raw('out')!,
    stateDir: raw('state-dir')!,
    projectRoot: raw('project-root')!,
    fresh: bool('fresh'),
    field: raw('field')!,
    users,
    roomSize: int('room-size', 2),
    roomsPerUser: int('rooms-per-user', 1),
    setupConcurrency: int('setup-concurrency', 1),
    setupTimeoutS: int('setup-timeout', 1),
    fanoutRate: num('fanout-rate', 0.1),
    fanoutDurationS: num('fanout-duration', 1),
    fanoutSettleS: num('fanout-settle', 1),
    fanoutLongPollMs: int('fanout-long-poll', 1000),
    fanoutMaxInFlight: int('fanout-max-in-flight', 1),
    writesConcurrency: int('writes-concurrency', 1),
    writesDurationS: num('writes-duration', 1),
    writesMax: int('writes-max', 1),
    idleConcurrency: int('idle-concurrency', 1),
    idleDurationS: num('idle-duration', 1),
    idleUsers: Math.min(users, int('idle-users', 1)),
    dbCheck: flags.has('no-db-check') ? false : bool('db-check'),
    pgUrl: raw('pg-url'),
    initialSizes,
    initialRepeats: int('initial-repeats', 1),
    replayTopUp: int('replay-top-up', 0),
    replayTimeoutS: int('replay-timeout', 10),
    memoryParked: Math.min(users, int('memory-parked', 1)),
    hostileDurationS: num('hostile-duration', 1),
    hostileConcurrency: int('hostile-concurrency', 1),
    hostileSettleS: num('hostile-settle', 0),
    hostileGoodRate: num('hostile-good-rate', 0.1),
    hopDirectUrl,
    hopRooms: int('hop-rooms', 1),
    hopRate: num('hop-rate', 0.1),
    hopDurationS: num('hop-duration', 1),
    hopSettleS: num('hop-settle', 0),
    hopRounds: int('hop-rounds', 1),
    hopLongPollMs: int('hop-long-poll', 1000),
    hopIdleConcurrency: int('hop-idle-concurrency', 1),
    hopIdleDurationS: num('hop-idle-duration', 0),
    pids,
    syncProcess: raw('sync-process'),
  };
}
