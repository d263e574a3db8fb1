/**
 * A minimal protobuf2 codec for exactly the KPL aggregation message
 * (amazon-kinesis-producer `aggregation-format.md`):
 *
 *   message AggregatedRecord { repeated string partition_key_table = 1;
 *                              repeated string explicit_hash_key_table = 2;
 *                              repeated Record records = 3; }
 *   message Record { required uint64 partition_key_index = 1;
 *                    optional uint64 explicit_hash_key_index = 2;
 *                    required bytes data = 3;
 *                    repeated Tag tags = 4; }
 *   message Tag { required string key = 1; optional string value = 2; }
 *
 * The reader is zero-copy: it reports byte ranges and leaves string decoding to the caller, so
 * each table entry is decoded at most once and record payloads can be handed out as views.
 */

/** Thrown for truncated or invalid input; deaggregation turns it into a pass-through record. */
export class ProtobufError extends Error {
  override name = 'ProtobufError';
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

// Precomputed keys (field number << 3 | wire type) of the fields we understand.
const KEY_PARTITION_KEY_TABLE = (1 << 3) | WIRE_LENGTH_DELIMITED;
const KEY_EXPLICIT_HASH_KEY_TABLE = (2 << 3) | WIRE_LENGTH_DELIMITED;
const KEY_RECORDS = (3 << 3) | WIRE_LENGTH_DELIMITED;
const KEY_PARTITION_KEY_INDEX = (1 << 3) | WIRE_VARINT;
const KEY_EXPLICIT_HASH_KEY_INDEX = (2 << 3) | WIRE_VARINT;
const KEY_DATA = (3 << 3) | WIRE_LENGTH_DELIMITED;
const KEY_TAGS = (4 << 3) | WIRE_LENGTH_DELIMITED;
const KEY_TAG_KEY = (1 << 3) | WIRE_LENGTH_DELIMITED;
const KEY_TAG_VALUE = (2 << 3) | WIRE_LENGTH_DELIMITED;

/** Where the parts of a decoded AggregatedRecord live in the input bytes. */
export interface AggregatedRecordLayout {
  /** `[start, end)` offsets of each partition_key_table entry, flattened: entry i is at 2i, 2i+1. */
  readonly partitionKeys: number[];
  /** Same for explicit_hash_key_table. */
  readonly explicitHashKeys: number[];
  /**
   * Four numbers per user record, flattened (no per-record objects on the hot path):
   * partition key index, explicit hash key index (-1 when absent), data start, data end.
   * Indices are guaranteed to be within their tables.
   */
  readonly records: number[];
}

/** Fields per user record in {@link AggregatedRecordLayout.records}. */
export const RECORD_STRIDE = 4;

// Read state of the message being decoded. Module variables rather than a cursor object: decoding
// is synchronous and never re-entered, and this measured faster on the hot path than a class.
let input: Uint8Array = new Uint8Array(0);
let pos = 0;

/**
 * Decodes `bytes[start, end)` as an AggregatedRecord.
 * @throws ProtobufError on truncated or invalid input, including table indices out of range.
 */
export function readAggregatedRecord(bytes: Uint8Array, start: number, end: number): AggregatedRecordLayout {
  input = bytes;
  pos = start;
  const layout: AggregatedRecordLayout = { partitionKeys: [], explicitHashKeys: [], records: [] };
  try {
    while (pos < end) {
      const key = readKey(end);
      if (key === KEY_RECORDS) {
        readRecord(readLengthDelimitedEnd(end), layout.records);
      } else if (key === KEY_PARTITION_KEY_TABLE) {
        readRange(end, layout.partitionKeys);
      } else if (key === KEY_EXPLICIT_HASH_KEY_TABLE) {
        readRange(end, layout.explicitHashKeys);
      } else {
        skipUnknown(key, end, 3);
      }
    }
  } finally {
    input = EMPTY; // do not keep the caller's bytes alive
  }
  // Tables may legally follow the records, so indices can only be checked at the end.
  checkIndices(layout);
  return layout;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads a varint of up to 10 bytes (64 bits). Values above 2^53 lose precision, which is
 * harmless: every value we read is an index or a length, and such values are out of range anyway.
 */
function readVarint(limit: number): number {
  if (pos >= limit) throw new ProtobufError('truncated varint');
  let byte = input[pos++]!;
  if (byte < 0x80) return byte;
  let value = byte & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 10; i++) {
    if (pos >= limit) throw new ProtobufError('truncated varint');
    byte = input[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
  }
  throw new ProtobufError('varint longer than 10 bytes');
}

/** Reads a field key; field number 0 and keys beyond 32 bits are invalid. */
function readKey(limit: number): number {
  const key = readVarint(limit);
  if (key > 0xffffffff || key < 8) throw new ProtobufError(`invalid field key ${key}`);
  return key;
}

/** Reads a length prefix and returns the end offset of the value it announces. */
function readLengthDelimitedEnd(limit: number): number {
  const length = readVarint(limit);
  if (length > limit - pos) throw new ProtobufError('truncated length-delimited field');
  return pos + length;
}

function advance(count: number, limit: number): void {
  if (count > limit - pos) throw new ProtobufError('truncated fixed-width field');
  pos += count;
}

/**
 * Skips an unknown field. Known field numbers (1..knownFields) carrying an unexpected wire type
 * are rejected rather than skipped: a KPL producer never writes them, and silently dropping e.g. a
 * `records` entry would lose user records where passing the container through loses nothing.
 * Groups (wire types 3, 4) are deprecated and not supported.
 */
function skipUnknown(key: number, limit: number, knownFields: number): void {
  const wireType = key & 7;
  if (key >>> 3 <= knownFields) throw new ProtobufError(`field ${key >>> 3} has wrong wire type ${wireType}`);
  if (wireType === WIRE_VARINT) readVarint(limit);
  else if (wireType === WIRE_FIXED64) advance(8, limit);
  else if (wireType === WIRE_LENGTH_DELIMITED) pos = readLengthDelimitedEnd(limit);
  else if (wireType === WIRE_FIXED32) advance(4, limit);
  else throw new ProtobufError(`unsupported wire type ${wireType}`);
}

function readRange(limit: number, into: number[]): void {
  const valueEnd = readLengthDelimitedEnd(limit);
  into.push(pos, valueEnd);
  pos = valueEnd;
}

function readRecord(end: number, into: number[]): void {
  let partitionKeyIndex = -1;
  let explicitHashKeyIndex = -1;
  let dataStart = -1;
  let dataEnd = -1;
  while (pos < end) {
    const key = readKey(end);
    if (key === KEY_DATA) {
      dataEnd = readLengthDelimitedEnd(end);
      dataStart = pos;
      pos = dataEnd;
    } else if (key === KEY_PARTITION_KEY_INDEX) {
      partitionKeyIndex = readVarint(end);
    } else if (key === KEY_EXPLICIT_HASH_KEY_INDEX) {
      explicitHashKeyIndex = readVarint(end);
    } else if (key === KEY_TAGS) {
      readTag(readLengthDelimitedEnd(end));
    } else {
      skipUnknown(key, end, 4);
    }
  }
  // proto2 `required` fields: protobuf-java (the Java KCL) rejects a message without them.
  if (partitionKeyIndex < 0 || dataStart < 0) throw new ProtobufError('record lacks a required field');
  into.push(partitionKeyIndex, explicitHashKeyIndex, dataStart, dataEnd);
}

/** Tags are validated for well-formedness only: the KCL does not surface them. */
function readTag(end: number): void {
  let hasKey = false;
  while (pos < end) {
    const key = readKey(end);
    if (key === KEY_TAG_KEY || key === KEY_TAG_VALUE) {
      pos = readLengthDelimitedEnd(end);
      hasKey ||= key === KEY_TAG_KEY;
    } else {
      skipUnknown(key, end, 2);
    }
  }
  if (!hasKey) throw new ProtobufError('tag lacks its required key');
}

function checkIndices(layout: AggregatedRecordLayout): void {
  const partitionKeyCount = layout.partitionKeys.length >> 1;
  const explicitHashKeyCount = layout.explicitHashKeys.length >> 1;
  const records = layout.records;
  for (let i = 0; i < records.length; i += RECORD_STRIDE) {
    if (records[i]! >= partitionKeyCount) throw new ProtobufError(`partition key index ${records[i]} out of range`);
    if (records[i + 1]! >= explicitHashKeyCount) {
      throw new ProtobufError(`explicit hash key index ${records[i + 1]} out of range`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writer. Sizes are computed up front so an aggregate is written once into an exact-size buffer.

/** Bytes taken by `value` (a non-negative safe integer) as a varint. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/** Bytes taken by a length-delimited field with a one-byte key (all of ours) and `length` bytes of value. */
export function lengthDelimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Body size of a Record message (without its own key and length prefix). */
export function recordBodySize(partitionKeyIndex: number, explicitHashKeyIndex: number, dataLength: number): number {
  const explicit = explicitHashKeyIndex < 0 ? 0 : 1 + varintSize(explicitHashKeyIndex);
  return 1 + varintSize(partitionKeyIndex) + explicit + lengthDelimitedSize(dataLength);
}

/** One user record to encode; `explicitHashKeyIndex` is -1 when absent. */
export interface RecordEntry {
  readonly partitionKeyIndex: number;
  readonly explicitHashKeyIndex: number;
  readonly data: Uint8Array;
}

/** An AggregatedRecord to encode, with table entries already UTF-8 encoded. */
export interface AggregatedRecordMessage {
  readonly partitionKeyTable: readonly Uint8Array[];
  readonly explicitHashKeyTable: readonly Uint8Array[];
  readonly records: readonly RecordEntry[];
}

/** Writes `message` into `target` at `pos` (which must have room for it); returns the end offset. */
export function writeAggregatedRecord(target: Uint8Array, pos: number, message: AggregatedRecordMessage): number {
  for (const entry of message.partitionKeyTable) pos = writeBytes(target, pos, KEY_PARTITION_KEY_TABLE, entry);
  for (const entry of message.explicitHashKeyTable) pos = writeBytes(target, pos, KEY_EXPLICIT_HASH_KEY_TABLE, entry);
  for (const r of message.records) {
    target[pos++] = KEY_RECORDS;
    pos = writeVarint(target, pos, recordBodySize(r.partitionKeyIndex, r.explicitHashKeyIndex, r.data.length));
    target[pos++] = KEY_PARTITION_KEY_INDEX;
    pos = writeVarint(target, pos, r.partitionKeyIndex);
    if (r.explicitHashKeyIndex >= 0) {
      target[pos++] = KEY_EXPLICIT_HASH_KEY_INDEX;
      pos = writeVarint(target, pos, r.explicitHashKeyIndex);
    }
    pos = writeBytes(target, pos, KEY_DATA, r.data);
  }
  return pos;
}

function writeBytes(target: Uint8Array, pos: number, key: number, value: Uint8Array): number {
  target[pos++] = key;
  pos = writeVarint(target, pos, value.length);
  target.set(value, pos);
  return pos + value.length;
}

function writeVarint(target: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    target[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  target[pos++] = value;
  return pos;
}
