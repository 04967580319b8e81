/**
 * Kafka's default partitioner for keyed records (murmur2 of the key's UTF-8 bytes, made positive,
 * modulo the partition count), as the Java client and kafkajs compute it. A copy, not an import:
 * the harness never imports the project's code. The hostile scenario uses it to pick users and
 * rooms whose records land on every partition (profile events are keyed by user ID, room events by
 * room ID).
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const words = length >> 2;
  for (let i = 0; i < words; i += 1) {
    const at = i * 4;
    let k = data[at]! + (data[at + 1]! << 8) + (data[at + 2]! << 16) + (data[at + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = words * 4;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition a record with this key lands on, among `partitions`. */
export function kafkaPartition(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError('partitions must be an integer >= 1');
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}
