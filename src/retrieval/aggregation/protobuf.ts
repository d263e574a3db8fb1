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

/** A read position over one input; `limit` arguments bound the message being read. */
class Cursor {
  pos: number;
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array, pos: number) {
    this.bytes = bytes;
    this.pos = pos;
  }

  /**
   * Reads a varint of up to 10 bytes (64 bits). Values above 2^53 lose precision, which is
   * harmless: every value we read is an index or a length, and such values are out of range anyway.
   */
  varint(limit: number): number {
    const bytes = this.bytes;
    let pos = this.pos;
    if (pos >= limit) throw new ProtobufError('truncated varint');
    let byte = bytes[pos++]!;
    if (byte < 0x80) {
      this.pos = pos;
      return byte;
    }
    let value = byte & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < 10; i++) {
      if (pos >= limit) throw new ProtobufError('truncated varint');
      byte = bytes[pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.pos = pos;
        return value;
      }
      scale *= 0x80;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** Reads a field key; field number 0 and keys beyond 32 bits are invalid. */
  key(limit: number): number {
    const key = this.varint(limit);
    if (key > 0xffffffff || key < 8) throw new ProtobufError(`invalid field key ${key}`);
    return key;
  }

  /** Reads a length prefix and returns the end offset of the value it announces. */
  lengthDelimitedEnd(limit: number): number {
    const length = this.varint(limit);
    if (length > limit - this.pos) throw new ProtobufError('truncated length-delimited field');
    return this.pos + length;
  }

  /** Skips the value of an unknown field. Groups (wire types 3, 4) are not supported. */
  skip(key: number, limit: number): void {
    switch (key & 7) {
      case WIRE_VARINT:
        this.varint(limit);
        return;
      case WIRE_FIXED64:
        this.advance(8, limit);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.pos = this.lengthDelimitedEnd(limit);
        return;
      case WIRE_FIXED32:
        this.advance(4, limit);
        return;
      default:
        throw new ProtobufError(`unsupported wire type ${key & 7}`);
    }
  }

  private advance(count: number, limit: number): void {
    if (count > limit - this.pos) throw new ProtobufError('truncated fixed-width field');
    this.pos += count;
  }
}

/**
 * Known field numbers carrying an unexpected wire type are rejected rather than skipped as
 * unknown: a KPL producer never writes them, and silently dropping e.g. a `records` entry would
 * lose user records where passing the container through loses nothing.
 */
function skipUnknown(cursor: Cursor, key: number, limit: number, knownFields: number): void {
  if (key >>> 3 <= knownFields) throw new ProtobufError(`field ${key >>> 3} has wrong wire type ${key & 7}`);
  cursor.skip(key, limit);
}

/**
 * Decodes `bytes[start, end)` as an AggregatedRecord.
 * @throws ProtobufError on truncated or invalid input, including table indices out of range.
 */
export function readAggregatedRecord(bytes: Uint8Array, start: number, end: number): AggregatedRecordLayout {
  const cursor = new Cursor(bytes, start);
  const layout: AggregatedRecordLayout = { partitionKeys: [], explicitHashKeys: [], records: [] };
  while (cursor.pos < end) {
    const key = cursor.key(end);
    if (key === KEY_RECORDS) {
      readRecord(cursor, cursor.lengthDelimitedEnd(end), layout.records);
    } else if (key === KEY_PARTITION_KEY_TABLE) {
      readRange(cursor, end, layout.partitionKeys);
    } else if (key === KEY_EXPLICIT_HASH_KEY_TABLE) {
      readRange(cursor, end, layout.explicitHashKeys);
    } else {
      skipUnknown(cursor, key, end, 3);
    }
  }
  // Tables may legally follow the records, so indices can only be checked at the end.
  checkIndices(layout);
  return layout;
}

function readRange(cursor: Cursor, limit: number, into: number[]): void {
  const valueEnd = cursor.lengthDelimitedEnd(limit);
  into.push(cursor.pos, valueEnd);
  cursor.pos = valueEnd;
}

function readRecord(cursor: Cursor, end: number, into: number[]): void {
  let partitionKeyIndex = -1;
  let explicitHashKeyIndex = -1;
  let dataStart = -1;
  let dataEnd = -1;
  while (cursor.pos < end) {
    const key = cursor.key(end);
    if (key === KEY_DATA) {
      dataEnd = cursor.lengthDelimitedEnd(end);
      dataStart = cursor.pos;
      cursor.pos = dataEnd;
    } else if (key === KEY_PARTITION_KEY_INDEX) {
      partitionKeyIndex = cursor.varint(end);
    } else if (key === KEY_EXPLICIT_HASH_KEY_INDEX) {
      explicitHashKeyIndex = cursor.varint(end);
    } else if (key === KEY_TAGS) {
      readTag(cursor, cursor.lengthDelimitedEnd(end));
    } else {
      skipUnknown(cursor, key, end, 4);
    }
  }
  // proto2 `required` fields: protobuf-java (the Java KCL) rejects a message without them.
  if (partitionKeyIndex < 0 || dataStart < 0) throw new ProtobufError('record lacks a required field');
  into.push(partitionKeyIndex, explicitHashKeyIndex, dataStart, dataEnd);
}

/** Tags are validated for well-formedness only: the KCL does not surface them. */
function readTag(cursor: Cursor, end: number): void {
  let hasKey = false;
  while (cursor.pos < end) {
    const key = cursor.key(end);
    if (key === KEY_TAG_KEY || key === KEY_TAG_VALUE) {
      cursor.pos = cursor.lengthDelimitedEnd(end);
      hasKey ||= key === KEY_TAG_KEY;
    } else {
      skipUnknown(cursor, key, end, 2);
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
