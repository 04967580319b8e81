import type { ConsumedRecord, RecordBatch } from '@mx/event-log';

/**
 * A partition batch on its way to a replay worker thread: the records' values in one buffer and
 * their offsets, timestamps and value lengths in typed arrays, so that posting it moves (transfers)
 * a handful of buffers instead of cloning every record. The keys (short strings) are cloned.
 */
export interface PackedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: number;
  readonly offsets: Float64Array;
  readonly timestamps: Float64Array;
  /** Each value's length in `values`; -1 for a record without a value. */
  readonly lengths: Int32Array;
  readonly keys: (string | null)[];
  readonly values: Uint8Array;
}

/** Packs a batch; post it with `transferList(packed)` so its buffers move instead of being copied. */
export function packBatch(batch: RecordBatch): PackedBatch {
  const count = batch.records.length;
  const offsets = new Float64Array(count);
  const timestamps = new Float64Array(count);
  const lengths = new Int32Array(count);
  const keys = new Array<string | null>(count);
  let size = 0;
  for (const record of batch.records) size += record.value?.length ?? 0;
  const values = new Uint8Array(size);
  let at = 0;
  batch.records.forEach((record, index) => {
    offsets[index] = record.offset;
    timestamps[index] = record.timestamp;
    keys[index] = record.key;
    if (record.value === null) {
      lengths[index] = -1;
      return;
    }
    values.set(record.value, at);
    lengths[index] = record.value.length;
    at += record.value.length;
  });
  return { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, offsets, timestamps, lengths, keys, values };
}

/** The buffers of a packed batch, to transfer when posting it. */
export function transferList(packed: PackedBatch): ArrayBuffer[] {
  return [packed.offsets.buffer, packed.timestamps.buffer, packed.lengths.buffer, packed.values.buffer] as ArrayBuffer[];
}

/** The batch again (each value a view into the one buffer), stale when `isStale` says so. */
export function unpackBatch(packed: PackedBatch, isStale: () => boolean): RecordBatch {
  const records = new Array<ConsumedRecord>(packed.offsets.length);
  let at = 0;
  for (let index = 0; index < records.length; index += 1) {
    const length = packed.lengths[index]!;
    const value = length < 0 ? null : Buffer.from(packed.values.buffer, packed.values.byteOffset + at, length);
    if (length > 0) at += length;
    records[index] = { offset: packed.offsets[index]!, key: packed.keys[index] ?? null, value, timestamp: packed.timestamps[index]! };
  }
  return { topic: packed.topic, partition: packed.partition, highWatermark: packed.highWatermark, records, isStale };
}

/** Bytes a batch holds (values and keys): what the replay bounds while batches wait to be applied. */
export function batchBytes(batch: RecordBatch): number {
  let bytes = 0;
  for (const record of batch.records) bytes += (record.value?.length ?? 0) + (record.key?.length ?? 0) + 32;
  return bytes;
}
