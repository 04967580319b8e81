import { forEachBoundedStrict } from './bounded.js';
import { type MatrixClient } from './matrix-client.js';
import { log } from './progress.js';
import { createPrng, subSeed } from './prng.js';
import { assignRooms } from './room-assignment.js';
import { loadSetup, saveSetup, setupKey } from './setup-cache.js';
import { now } from './time.js';

export interface BenchUser {
  readonly index: number;
  readonly userId: string;
  readonly token: string;
}

/** U users in rooms of size S, K rooms each (the fan-out, writes, idle and memory scenarios). */
export interface SocialSetup {
  readonly namespace: string;
  readonly users: BenchUser[];
  /** Member indexes per room, as assigned from the seed. */
  readonly rooms: { readonly roomId: string; readonly members: number[] }[];
  readonly seconds: number;
  readonly reused: boolean;
}

/** A crowd of max(M) users with the field set, and per M one observer alone with the first M in one big room. */
export interface CrowdSetup {
  readonly namespace: string;
  readonly members: BenchUser[];
  readonly observers: { readonly size: number; readonly user: BenchUser; readonly roomId: string }[];
  readonly field: string;
  readonly seconds: number;
  readonly reused: boolean;
}

export interface SetupContext {
  readonly matrix: MatrixClient;
  readonly baseUrl: string;
  readonly seed: number;
  readonly stateDir: string;
  readonly fresh: boolean;
  readonly concurrency: number;
  /** Monotonic ms after which no seeding request starts. */
  readonly deadline: number;
}

/** A namespace unique to this setup, so a fresh setup never collides with users of an earlier one. */
function newNamespace(seed: number): string {
  return `b${seed}${Date.now().toString(36)}`;
}

async function tokensStillWork(matrix: MatrixClient, users: readonly BenchUser[], seed: number): Promise<boolean> {
  if (users.length === 0) return false;
  const prng = createPrng(subSeed(seed, 'check'));
  const sample = [users[0]!, users.at(-1)!, ...Array.from({ length: 8 }, () => users[prng.int(users.length)]!)];
  for (const user of sample) {
    try {
      if ((await matrix.whoami(user.token)) !== user.userId) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function registerAll(ctx: SetupContext, localparts: readonly string[], label: string): Promise<BenchUser[]> {
  const users = new Array<BenchUser>(localparts.length);
  const password = `bench-${localparts[0] ?? ''}`;
  await forEachBoundedStrict(
    localparts,
    ctx.concurrency,
    async (localpart, index) => {
      const { userId, token } = await ctx.matrix.register(localpart, password);
      users[index] = { index, userId, token };
    },
    { deadline: ctx.deadline, label },
  );
  return users;
}

export async function socialSetup(
  ctx: SetupContext,
  params: { users: number; roomSize: number; roomsPerUser: number },
): Promise<SocialSetup> {
  const key = setupKey({ kind: 'social', baseUrl: ctx.baseUrl, seed: ctx.seed, ...params });
  if (!ctx.fresh) {
    const cached = await loadSetup<SocialSetup>(ctx.stateDir, 'social', key);
    if (cached && cached.users.length === params.users && (await tokensStillWork(ctx.matrix, cached.users, ctx.seed))) {
      log(`social setup: reusing ${cached.users.length} users and ${cached.rooms.length} rooms (namespace ${cached.namespace})`);
      return { ...cached, reused: true };
    }
  }
  const started = now();
  const namespace = newNamespace(ctx.seed);
  const layout = assignRooms(params.users, params.roomSize, params.roomsPerUser, subSeed(ctx.seed, 'rooms'));
  log(
    `social setup: ${params.users} users, ${layout.length} rooms of ${params.roomSize}, ${params.roomsPerUser} per user (namespace ${namespace})`,
  );
  const users = await registerAll(
    ctx,
    Array.from({ length: params.users }, (_, i) => `${namespace}-u${i}`),
    'register users',
  );
  const roomIds = new Array<string>(layout.length);
  await forEachBoundedStrict(
    layout,
    ctx.concurrency,
    async (members, index) => {
      roomIds[index] = await ctx.matrix.createRoom(users[members[0]!]!.token, `bench ${namespace} ${index}`);
    },
    { deadline: ctx.deadline, label: 'create rooms' },
  );
  // Joins ordered by position in the room, so concurrent joins spread over rooms.
  const joins: { room: number; member: number }[] = [];
  const longest = Math.max(0, ...layout.map((members) => members.length));
  for (let position = 1; position < longest; position += 1)
    layout.forEach((members, room) => {
      const member = members[position];
      if (member !== undefined) joins.push({ room, member });
    });
  await forEachBoundedStrict(joins, ctx.concurrency, async ({ room, member }) => ctx.matrix.join(users[member]!.token, roomIds[room]!), {
    deadline: ctx.deadline,
    label: 'join rooms',
  });
  const setup: SocialSetup = {
    namespace,
    users,
    rooms: layout.map((members, index) => ({ roomId: roomIds[index]!, members })),
    seconds: Math.round(now() - started) / 1000,
    reused: false,
  };
  await saveSetup(ctx.stateDir, 'social', key, setup);
  return setup;
}

export async function crowdSetup(ctx: SetupContext, params: { sizes: readonly number[]; field: string }): Promise<CrowdSetup> {
  const key = setupKey({ kind: 'crowd', baseUrl: ctx.baseUrl, seed: ctx.seed, ...params });
  const largest = Math.max(...params.sizes);
  if (!ctx.fresh) {
    const cached = await loadSetup<CrowdSetup>(ctx.stateDir, 'crowd', key);
    if (cached && cached.members.length === largest && (await tokensStillWork(ctx.matrix, cached.members, ctx.seed))) {
      log(`crowd setup: reusing ${cached.members.length} users and ${cached.observers.length} big rooms (namespace ${cached.namespace})`);
      return { ...cached, reused: true };
    }
  }
  const started = now();
  const namespace = newNamespace(ctx.seed);
  log(`crowd setup: ${largest} users with ${params.field} set, big rooms of ${params.sizes.join(', ')} (namespace ${namespace})`);
  const members = await registerAll(
    ctx,
    Array.from({ length: largest }, (_, i) => `${namespace}-m${i}`),
    'register crowd',
  );
  const observerUsers = await registerAll(
    ctx,
    params.sizes.map((size) => `${namespace}-o${size}`),
    'register observers',
  );
  const observers = await Promise.all(
    params.sizes.map(async (size, i) => {
      const user = observerUsers[i]!;
      return { size, user, roomId: await ctx.matrix.createRoom(user.token, `bench ${namespace} crowd ${size}`) };
    }),
  );
  const joins = observers.flatMap((observer) => members.slice(0, observer.size).map((member) => ({ member, roomId: observer.roomId })));
  await forEachBoundedStrict(joins, ctx.concurrency, async ({ member, roomId }) => ctx.matrix.join(member.token, roomId), {
    deadline: ctx.deadline,
    label: 'join big rooms',
  });
  await forEachBoundedStrict(
    members,
    ctx.concurrency,
    async (member) => {
      const result = await ctx.matrix.putProfileField(member.token, member.userId, params.field, `crowd:${member.index}`);
      if (result.status !== 200) throw new Error(`set ${params.field}: HTTP ${result.status} ${JSON.stringify(result.body).slice(0, 200)}`);
    },
    { deadline: ctx.deadline, label: `set ${params.field}` },
  );
  const setup: CrowdSetup = {
    namespace,
    members,
    observers,
    field: params.field,
    seconds: Math.round(now() - started) / 1000,
    reused: false,
  };
  await saveSetup(ctx.stateDir, 'crowd', key, setup);
  return setup;
}
