import type { LogRecord } from './event-log.port.js';

/**
 * The most bytes the producer puts in one partition's batch of one append: below Kafka's default
 * `message.max.bytes` (1,048,588, which a broker applies to each partition's record batch) and the
 * Java client's `max.request.size` (1,048,576), with a margin.
 */
export const MAX_PARTITION_BATCH_BYTES = 1_000_000;

/** A record batch's header (magic v2): base offset, length, leader epoch, magic, CRC, attributes, offsets, timestamps, producer id and epoch, base sequence, record count. */
const BATCH_HEADER_BYTES = 61;
/** The most a record's own fields take besides key, value and headers: length (varint), attributes, timestamp delta (varlong), offset delta, key length, value length, header count (varints). */
const RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** A header's key and value lengths (varints). */
const HEADER_OVERHEAD_BYTES = 5 + 5;

/** An upper bound of the encoded size of one uncompressed record batch (magic v2) holding these records. */
export function recordBatchBytes(records: readonly LogRecord[]): number {
  let bytes = BATCH_HEADER_BYTES;
  for (const record of records) {
    bytes += RECORD_OVERHEAD_BYTES + Buffer.byteLength(record.key, 'utf8') + record.value.length;
    for (const [name, value] of Object.entries(record.headers ?? {})) {
      bytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
    }
  }
  return bytes;
}
