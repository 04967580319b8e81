import { type Json } from './matrix-client.js';
import { percentile, sortedCopy } from './stats.js';

/** The two filters of the hop scenario: an ordinary client's, and the same with the MSC4429 key. */
export type HopFilter = 'plain' | 'profile';
export const HOP_FILTERS: readonly HopFilter[] = ['plain', 'profile'];

/** One measured phase of the idle part: the workers sync `origin` with `filter`. */
export interface HopPhase {
  readonly index: number;
  readonly round: number;
  readonly filter: HopFilter;
  /** Name of the /sync origin (`via` = the run's /sync origin, `direct` = --hop-direct-url). */
  readonly origin: string;
}

/**
 * The idle phases in order: per round, per filter, every origin once; the origin order is reversed
 * in every other round, so a drift of the machine over the run (a warming cache, a growing database,
 * a neighbour's load) does not fall on one origin only.
 */
export function hopPhases(rounds: number, origins: readonly string[], filters: readonly HopFilter[] = HOP_FILTERS): HopPhase[] {
  const phases: HopPhase[] = [];
  for (let round = 0; round < rounds; round += 1)
    for (const filter of filters)
      for (const origin of round % 2 === 0 ? origins : [...origins].reverse()) phases.push({ index: phases.length, round, filter, origin });
  return phases;
}

/**
 * The long-poll phases: per round, per filter, one phase in which every receiver long-polls every
 * origin at once (one loop per origin), so each message is delivered through each origin at the
 * same moment and under the same load: a paired measurement. The filter order alternates by round.
 */
export function hopPairedPhases(
  rounds: number,
  filters: readonly HopFilter[] = HOP_FILTERS,
): { index: number; round: number; filter: HopFilter }[] {
  const phases: { index: number; round: number; filter: HopFilter }[] = [];
  for (let round = 0; round < rounds; round += 1)
    for (const filter of round % 2 === 0 ? filters : [...filters].reverse()) phases.push({ index: phases.length, round, filter });
  return phases;
}

/**
 * Per (message, receiver) delivered through both origins: `a` − `b` (the key is `seq>receiver`, as
 * in `HopLatencies.first`). The distribution of what one origin adds over the other for the same
 * message at the same moment.
 */
export function pairedDifferences(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number[] {
  const differences: number[] = [];
  for (const [key, at] of a) {
    const other = b.get(key);
    if (other !== undefined) differences.push(at - other);
  }
  return differences;
}

/** The sync filters: timeline only (an ordinary client's), and with the MSC4429 profile fields. */
export function hopFilterBody(filter: HopFilter, field: string): Json {
  const plain: Json = { room: { timeline: { limit: 50 } } };
  return filter === 'plain' ? plain : { ...plain, 'org.matrix.msc4429.profile_fields': { ids: [field] } };
}

/** The body of message `seq` of phase `phase`: unique per run, and found again in a timeline. */
export function hopMessageBody(runTag: string, phase: number, seq: number): string {
  return `${runTag}:h${phase}:${seq}`;
}

export interface TimelineMessage {
  readonly roomId: string;
  readonly sender: string;
  readonly seq: number;
}

/**
 * The messages of phase `phase` (bodies from `hopMessageBody`) in the joined rooms' timelines of a
 * /sync response, and whether any of those timelines was `limited` (events skipped: a gap).
 */
export function timelineMessages(body: Json, runTag: string, phase: number): { messages: TimelineMessage[]; limited: number } {
  const prefix = `${runTag}:h${phase}:`;
  const messages: TimelineMessage[] = [];
  let limited = 0;
  const join = (body['rooms'] as Json | undefined)?.['join'];
  if (typeof join !== 'object' || join === null) return { messages, limited };
  for (const [roomId, room] of Object.entries(join as Record<string, unknown>)) {
    const timeline = (room as Json | null)?.['timeline'] as Json | undefined;
    if (!timeline) continue;
    if (timeline['limited'] === true) limited += 1;
    const events = timeline['events'];
    if (!Array.isArray(events)) continue;
    for (const item of events as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const event = item as Json;
      if (event['type'] !== 'm.room.message') continue;
      const text = (event['content'] as Json | undefined)?.['body'];
      if (typeof text !== 'string' || !text.startsWith(prefix)) continue;
      const seq = Number(text.slice(prefix.length));
      if (Number.isInteger(seq) && seq >= 0) messages.push({ roomId, sender: String(event['sender']), seq });
    }
  }
  return { messages, limited };
}

export interface HopSend {
  /** Room index (into the hop rooms). */
  readonly room: number;
  /** When the send request started and when its 200 arrived (monotonic ms; ack undefined when not 200). */
  readonly sentAt: number;
  readonly ackAt: number | undefined;
}

export interface HopDelivery {
  readonly seq: number;
  readonly receiver: number;
  readonly at: number;
}

export interface HopLatencies {
  /** First delivery per `seq>receiver` (monotonic ms). */
  readonly first: ReadonlyMap<string, number>;
  /** Delivery time − send start, per (message, receiver) first seen. */
  readonly fromSend: number[];
  /** Delivery time − the send's 200 (negative when the delivery beat the answer). */
  readonly fromAck: number[];
  readonly expected: number;
  readonly delivered: number;
  readonly missing: number;
  readonly duplicates: number;
  /** Deliveries of messages this phase never sent (or whose send failed), or to users not in the room. */
  readonly unexpected: number;
}

/**
 * Pairs every acknowledged send with its receivers (`receiversOf(room)`, the sender excluded by the
 * caller) and the deliveries seen; a (message, receiver) pair counts once, at its first delivery.
 */
export function hopLatencies(
  sends: ReadonlyMap<number, HopSend>,
  deliveries: readonly HopDelivery[],
  receiversOf: (room: number) => readonly number[],
): HopLatencies {
  const first = new Map<string, number>();
  let duplicates = 0;
  let unexpected = 0;
  const receiverSets = new Map<number, Set<number>>();
  const receiversIn = (room: number) => {
    let set = receiverSets.get(room);
    if (!set) {
      set = new Set(receiversOf(room));
      receiverSets.set(room, set);
    }
    return set;
  };
  for (const delivery of deliveries) {
    const send = sends.get(delivery.seq);
    if (!send || send.ackAt === undefined || !receiversIn(send.room).has(delivery.receiver)) {
      unexpected += 1;
      continue;
    }
    const key = `${delivery.seq}>${delivery.receiver}`;
    if (first.has(key)) {
      duplicates += 1;
      continue;
    }
    first.set(key, delivery.at);
  }
  const fromSend: number[] = [];
  const fromAck: number[] = [];
  let expected = 0;
  let missing = 0;
  for (const [seq, send] of sends) {
    if (send.ackAt === undefined) continue;
    for (const receiver of receiversIn(send.room)) {
      expected += 1;
      const at = first.get(`${seq}>${receiver}`);
      if (at === undefined) {
        missing += 1;
        continue;
      }
      fromSend.push(at - send.sentAt);
      fromAck.push(at - send.ackAt);
    }
  }
  return { first, fromSend, fromAck, expected, delivered: fromSend.length, missing, duplicates, unexpected };
}

/** p50 / p99 of a sample (nearest rank), null when empty. */
export function p50p99(values: readonly number[]): { p50: number | null; p99: number | null; count: number } {
  const sorted = sortedCopy(values);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length };
}

/**
 * What the hop adds: `via` − `direct` for each percentile (null when either is missing). Percentiles
 * of the pooled samples of every phase of each origin, so each side weighs its phases by deliveries.
 */
export function addedLatency(
  via: { p50: number | null; p99: number | null },
  direct: { p50: number | null; p99: number | null },
): { p50: number | null; p99: number | null } {
  const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.round((a - b) * 1000) / 1000);
  return { p50: minus(via.p50, direct.p50), p99: minus(via.p99, direct.p99) };
}

/**
 * The hop rooms: the first `count` rooms of the seeded layout, each with its first member (the
 * creator) as sender and every other member as a receiver; the clients are every member of them.
 */
export function hopRooms(
  rooms: readonly { readonly roomId: string; readonly members: readonly number[] }[],
  count: number,
): { rooms: { roomId: string; sender: number; receivers: number[] }[]; clients: number[] } {
  const chosen = rooms.slice(0, Math.max(1, count)).map((room) => ({
    roomId: room.roomId,
    sender: room.members[0]!,
    receivers: room.members.slice(1),
  }));
  const clients = [...new Set(chosen.flatMap((room) => [room.sender, ...room.receivers]))].sort((a, b) => a - b);
  return { rooms: chosen, clients };
}
