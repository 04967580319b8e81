import { psql } from './own-infra.js';

/**
 * A per-event trace of what the projector's transactions wrote, kept by PostgreSQL itself (the
 * projector does not know about it): row-level triggers copy every row inserted or updated in
 * `profile_fields` and `memberships` into trace tables, inside the projector's own transaction, so
 * a batch that rolls back leaves no trace and a batch that commits leaves one row per key it wrote.
 *
 * The projector writes, per batch, the last change of each (user, field) and of each (room, user).
 * So a write that is the last of its batch for its key (as every write a client waited for is: its
 * next write is only sent after the answer) leaves exactly one trace row each time it takes
 * effect: none when it was lost, two when it was applied twice.
 */
export interface ProfileTraceRow {
  readonly seq: number;
  readonly user_id: string;
  readonly field: string;
  readonly is_set: boolean;
  readonly value: unknown;
  readonly log_partition: number;
  readonly log_offset: number;
}

export interface MembershipTraceRow {
  readonly seq: number;
  readonly room_id: string;
  readonly user_id: string;
  readonly membership: string;
  readonly event_id: string;
  readonly log_partition: number;
  readonly log_offset: number;
}

export interface ProjectionTrace {
  /** Every traced profile_fields row, in the order the database wrote them. */
  profileRows(): Promise<ProfileTraceRow[]>;
  /** Every traced memberships row, in the order the database wrote them. */
  membershipRows(): Promise<MembershipTraceRow[]>;
  /** Drops the triggers, their functions and the trace tables. */
  remove(): Promise<void>;
}

/**
 * Installs the trace in `database` under `name` (a-z, 0-9 and _), for users whose ID starts with
 * `userIdPrefix` (every user when omitted): on a database other tests share, the prefix keeps the
 * trace to the calling test's own users.
 */
export async function installProjectionTrace(database: string, name: string, userIdPrefix = '@'): Promise<ProjectionTrace> {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`trace name ${name}: a-z, 0-9 and _ only`);
  if (!/^@[a-z0-9.=/-]*$/.test(userIdPrefix)) throw new Error(`user ID prefix ${userIdPrefix}: Matrix localpart characters only`);
  const when = `NEW.user_id LIKE '${userIdPrefix.replaceAll('_', '\\_')}%'`;
  const tables = {
    profile: {
      trace: `public.${name}_profile`,
      source: 'public.profile_fields',
      columns: 'user_id text, field text, is_set boolean, value jsonb, log_partition integer, log_offset bigint',
      values: 'NEW.user_id, NEW.field, NEW.is_set, NEW.value, NEW.log_partition, NEW.log_offset',
      names: 'user_id, field, is_set, value, log_partition, log_offset',
    },
    membership: {
      trace: `public.${name}_membership`,
      source: 'public.memberships',
      columns: 'room_id text, user_id text, membership text, event_id text, log_partition integer, log_offset bigint',
      values: 'NEW.room_id, NEW.user_id, NEW.membership, NEW.event_id, NEW.log_partition, NEW.log_offset',
      names: 'room_id, user_id, membership, event_id, log_partition, log_offset',
    },
  };
  const statements: string[] = [];
  for (const [kind, table] of Object.entries(tables)) {
    const fn = `public.${name}_${kind}_fn`;
    statements.push(
      `CREATE TABLE ${table.trace} (seq bigserial PRIMARY KEY, ${table.columns})`,
      `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN ` +
        `INSERT INTO ${table.trace} (${table.names}) VALUES (${table.values}); RETURN NULL; END $fn$`,
      `CREATE TRIGGER ${name}_${kind} AFTER INSERT OR UPDATE ON ${table.source} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${fn}()`,
    );
  }
  // One statement per transaction: a transaction holding locks on both tables at once can deadlock
  // with the services' own transactions, which read them in another order.
  for (const statement of statements) await psql(statement, database);
  const rows = async <T>(table: string): Promise<T[]> => {
    const { stdout } = await psql(`SELECT coalesce(json_agg(t ORDER BY t.seq), '[]'::json) FROM ${table} t`, database);
    return JSON.parse(stdout.trim()) as T[];
  };
  return {
    profileRows: () => rows<ProfileTraceRow>(tables.profile.trace),
    membershipRows: () => rows<MembershipTraceRow>(tables.membership.trace),
    remove: async () => {
      const drops: string[] = [];
      for (const [kind, table] of Object.entries(tables)) {
        drops.push(
          `DROP TRIGGER IF EXISTS ${name}_${kind} ON ${table.source}`,
          `DROP FUNCTION IF EXISTS public.${name}_${kind}_fn()`,
          `DROP TABLE IF EXISTS ${table.trace}`,
        );
      }
      for (const statement of drops) await psql(statement, database);
    },
  };
}

/** One client's write to one key, as the client saw it answered. */
export interface TracedWrite<E> {
  /** What the write would leave in the trace when applied. */
  readonly effect: E;
  /**
   * `applied`: answered 200; `refused`: a definite refusal, or a write that cannot take effect
   * (it must not); `unknown`: a 5xx or no answer, once in the log before the answer or never;
   * `late`: a 503 saying the broker had not acknowledged it, so that the writer may still append
   * it later, after the client's next writes.
   */
  readonly outcome: 'applied' | 'refused' | 'unknown' | 'late';
}

/**
 * Matches the trace of one key (the rows in log order) against the writes one client made to it,
 * in the order it made them (each sent after the previous one was answered): every applied write
 * must appear exactly once, no refused write may appear, an unknown write at most once, and in
 * the client's order (a late write anywhere after the writes before it). Answers undefined when
 * they match, else what is wrong.
 */
export function matchTrace<E>(writes: readonly TracedWrite<E>[], trace: readonly E[], same: (a: E, b: E) => boolean): string | undefined {
  // Rows that several writes could have left (equal effects) make a first-fit match wrong, so this
  // searches every assignment, memoized on (next row, next write, late writes passed over unmatched).
  const lates = writes.flatMap((write, index) => (write.outcome === 'late' ? [index] : []));
  if (lates.length > 20) throw new Error(`matchTrace: ${lates.length} late writes are more than it can search`);
  const lateBit = (write: number) => 1 << lates.indexOf(write);
  const memo = new Map<string, boolean>();
  // The furthest row any assignment reached, and the earliest write it could go on from there.
  let furthest = 0;
  let from = 0;
  const matches = (row: number, next: number, passed: number): boolean => {
    if (row > furthest || (row === furthest && next < from)) [furthest, from] = [row, next];
    const key = `${row} ${next} ${passed}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let found = false;
    if (row === trace.length) found = writes.slice(next).every((write) => write.outcome !== 'applied');
    else {
      // The row is a write from `next` on (the ones skipped must not be acknowledged ones) ...
      for (let candidate = next; candidate < writes.length && !found; candidate++) {
        const write = writes[candidate]!;
        if (write.outcome !== 'refused' && same(write.effect, trace[row]!)) {
          let skipped = passed;
          for (let at = next; at < candidate; at++) if (writes[at]!.outcome === 'late') skipped |= lateBit(at);
          found = matches(row + 1, candidate + 1, skipped);
        }
        if (write.outcome === 'applied') break;
      }
      // ... or a late write passed over earlier.
      for (const late of lates)
        if (!found && late < next && passed & lateBit(late) && same(writes[late]!.effect, trace[row]!))
          found = matches(row + 1, next, passed & ~lateBit(late));
    }
    memo.set(key, found);
    return found;
  };
  if (matches(0, 0, 0)) return undefined;
  const blocker = writes.findIndex((write, at) => at >= from && write.outcome === 'applied');
  const lost = blocker < 0 ? '' : `the acknowledged write ${blocker} (${JSON.stringify(writes[blocker]!.effect)})`;
  if (furthest === trace.length) return `${lost} never took effect`;
  return (
    `trace row ${furthest} (${JSON.stringify(trace[furthest])}) fits no write from write ${from} on: ` +
    (lost ? `${lost} comes first and never took effect, or ` : '') +
    'a write took effect twice, out of order, or though refused'
  );
}
