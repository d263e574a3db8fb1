import { Buffer } from 'node:buffer';
import * as crypto from 'node:crypto';
import type { KinesisClientRecord } from '../kinesis-client-record.ts';
import { RECORD_STRIDE, readAggregatedRecord, type AggregatedRecordLayout } from './protobuf.ts';

/** A Kinesis record as fetched, possibly a KPL aggregate. */
export interface DeaggregateInput {
  /** The record's bytes: an aggregate (KPL magic and MD5) or a plain payload. */
  data: Uint8Array;
  /** The record's partition key. */
  partitionKey: string;
  /** The record's sequence number. */
  sequenceNumber: string;
  /** When Kinesis accepted it. */
  approximateArrivalTimestamp?: Date;
  /** Its explicit hash key, if any. */
  explicitHashKey?: string;
  /** `KMS` for server-side encrypted records. */
  encryptionType?: string;
}

/** The shard's hash key range, as decimal strings of 128-bit unsigned integers (both inclusive). */
export interface HashKeyRange {
  /** The lowest hash key of the shard. */
  startingHashKey?: string;
  /** The highest hash key of the shard. */
  endingHashKey?: string;
}

const MAGIC_SIZE = 4;
const DIGEST_SIZE = 16;
const MAX_HASH_KEY = (1n << 128n) - 1n;
const DECIMAL = /^[+-]?[0-9]+$/;

/**
 * Unpacks a KPL aggregate into its user records, following the Java KCL's `AggregatorUtil`:
 * input without the magic prefix, too short, failing its MD5 check or not decoding as a valid
 * AggregatedRecord comes back unchanged as one plain record. User records share the container's
 * sequence number, arrival time and encryption type, and their `data` are views into `record.data`.
 *
 * With a hash key range (a shard's), an aggregate holding any user record whose effective hash
 * key (explicit hash key, else MD5 of the partition key) is outside the range yields nothing at
 * all, as in the Java KCL: such a record reached this shard before a reshard and will be read by
 * the shard that now owns it.
 *
 * Never throws on record content; throws RangeError if `options` holds a non-decimal bound.
 */
export function deaggregate(record: DeaggregateInput, options?: HashKeyRange): KinesisClientRecord[] {
  const filter = options === undefined ? undefined : hashKeyFilter(options);
  let records: KinesisClientRecord[] | undefined;
  try {
    records = unpack(record, filter);
  } catch {
    // Malformed content (ProtobufError) or anything unexpected: deliver the bytes as they are.
    records = undefined;
  }
  return records ?? [plainRecord(record)];
}

/** The user records, or undefined when `record` is not a (valid) aggregate. */
function unpack(record: DeaggregateInput, filter: HashKeyFilter | undefined): KinesisClientRecord[] | undefined {
  const bytes = record.data;
  const bodyEnd = bytes.length - DIGEST_SIZE;
  if (bodyEnd <= MAGIC_SIZE || !hasMagic(bytes) || !digestMatches(bytes, bodyEnd)) return undefined;
  const layout = readAggregatedRecord(bytes, MAGIC_SIZE, bodyEnd);
  const partitionKeys = decodeTable(bytes, layout.partitionKeys);
  const explicitHashKeys = decodeTable(bytes, layout.explicitHashKeys);
  if (filter !== undefined) {
    const verdict = filter.acceptsAll(layout, partitionKeys, explicitHashKeys);
    if (verdict === undefined) return undefined;
    if (!verdict) return [];
  }
  return userRecords(record, layout, partitionKeys, explicitHashKeys);
}

/** True when the bytes start with the KPL magic: only then can they be an aggregate. */
export function hasMagic(bytes: Uint8Array): boolean {
  return bytes[0] === 0xf3 && bytes[1] === 0x89 && bytes[2] === 0x9a && bytes[3] === 0xc2;
}

// crypto.hash (Node >= 20.12) is a one-shot without a Hash object; hex output avoids a Buffer.
const md5Hex: (data: Uint8Array | string) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('md5', data, 'hex')
    : (data) => crypto.createHash('md5').update(data).digest('hex');

/** MD5 of `bytes[MAGIC_SIZE, bodyEnd)` equals the 16 trailing bytes. */
function digestMatches(bytes: Uint8Array, bodyEnd: number): boolean {
  const hex = md5Hex(bytes.subarray(MAGIC_SIZE, bodyEnd));
  for (let i = 0; i < DIGEST_SIZE; i++) {
    const byte = bytes[bodyEnd + i]!;
    if (hexDigit(hex.charCodeAt(2 * i)) !== byte >> 4 || hexDigit(hex.charCodeAt(2 * i + 1)) !== (byte & 15)) {
      return false;
    }
  }
  return true;
}

/** Value of a lowercase hex digit's char code. */
function hexDigit(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
// Native latin1 slicing works on any Uint8Array and maps each byte to one char, so for ASCII it
// is exact UTF-8 decoding, and byte offsets into the slice are char offsets.
function latin1(bytes: Uint8Array, start: number, end: number): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString('latin1', start, end);
}

/**
 * Decodes table entries. The KPL writes a table's entries back to back, so one native call
 * decodes the whole run and ASCII entries (the usual partition keys) become cheap substrings of it.
 */
function decodeTable(bytes: Uint8Array, ranges: number[]): string[] {
  const strings: string[] = [];
  if (ranges.length === 0) return strings;
  const spanStart = ranges[0]!;
  const spanEnd = ranges[ranges.length - 1]!;
  // Entries not adjacent (tables interleaved with records): slice each one on its own.
  const contiguous = spanEnd - spanStart <= 2 * contentLength(ranges) + 4 * (ranges.length >> 1);
  const span = contiguous ? latin1(bytes, spanStart, spanEnd) : '';
  for (let i = 0; i < ranges.length; i += 2) {
    const start = ranges[i]!;
    const end = ranges[i + 1]!;
    if (!isAscii(bytes, start, end)) strings.push(utf8.decode(bytes.subarray(start, end)));
    else if (contiguous) strings.push(span.substring(start - spanStart, end - spanStart));
    else strings.push(latin1(bytes, start, end));
  }
  return strings;
}

function contentLength(ranges: number[]): number {
  let total = 0;
  for (let i = 0; i < ranges.length; i += 2) total += ranges[i + 1]! - ranges[i]!;
  return total;
}

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) return false;
  }
  return true;
}

function userRecords(
  record: DeaggregateInput,
  layout: AggregatedRecordLayout,
  partitionKeys: string[],
  explicitHashKeys: string[],
): KinesisClientRecord[] {
  // Subarrays of a plain Uint8Array alias: cheaper than Buffer#subarray when the input is a Buffer.
  const bytes = record.data;
  const whole = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const { sequenceNumber, encryptionType } = record;
  const approximateArrivalTimestamp = arrivalOf(record);
  const fields = layout.records;
  const result: KinesisClientRecord[] = [];
  for (let i = 0, sub = 0; i < fields.length; i += RECORD_STRIDE, sub++) {
    const userRecord: KinesisClientRecord = {
      data: whole.subarray(fields[i + 2], fields[i + 3]),
      partitionKey: partitionKeys[fields[i]!]!,
      sequenceNumber,
      subSequenceNumber: sub,
      aggregated: true,
      approximateArrivalTimestamp,
    };
    const explicitHashKeyIndex = fields[i + 1]!;
    if (explicitHashKeyIndex >= 0) userRecord.explicitHashKey = explicitHashKeys[explicitHashKeyIndex]!;
    if (encryptionType !== undefined) userRecord.encryptionType = encryptionType;
    result.push(userRecord);
  }
  return result;
}

/**
 * The epoch when the input has none (the Java KCL leaves it null; our type requires a Date).
 * A fresh Date per input, so a consumer mutating one cannot affect other records.
 */
function arrivalOf(record: DeaggregateInput): Date {
  return record.approximateArrivalTimestamp ?? new Date(0);
}

function plainRecord(record: DeaggregateInput): KinesisClientRecord {
  const plain: KinesisClientRecord = {
    data: record.data,
    partitionKey: record.partitionKey,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: 0,
    aggregated: false,
    approximateArrivalTimestamp: arrivalOf(record),
  };
  if (record.explicitHashKey !== undefined) plain.explicitHashKey = record.explicitHashKey;
  if (record.encryptionType !== undefined) plain.encryptionType = record.encryptionType;
  return plain;
}

// ---------------------------------------------------------------------------------------------
// Hash key range filter.

interface CachedFilter {
  start: string | undefined;
  end: string | undefined;
  filter: HashKeyFilter;
}

let lastFilter: CachedFilter | undefined;

/** Bounds are parsed once per distinct range: consumers call this per record with the same shard's range. */
function hashKeyFilter(options: HashKeyRange): HashKeyFilter | undefined {
  const { startingHashKey: start, endingHashKey: end } = options;
  if (start === undefined && end === undefined) return undefined;
  let cached = lastFilter;
  if (cached === undefined || cached.start !== start || cached.end !== end) {
    cached = { start, end, filter: new HashKeyFilter(parseBound(start, 0n), parseBound(end, MAX_HASH_KEY)) };
    lastFilter = cached;
  }
  return cached.filter;
}

function parseBound(value: string | undefined, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  if (!DECIMAL.test(value)) throw new RangeError(`hash key bound must be a decimal integer, got ${JSON.stringify(value)}`);
  return BigInt(value);
}

/** Decides whether an aggregate's user records all belong to a shard's inclusive hash key range. */
class HashKeyFilter {
  private readonly start: bigint;
  private readonly end: bigint;
  /** Bounds as 32-digit lowercase hex, so an MD5 hex digest is compared without making a BigInt. */
  private readonly startHex: string;
  private readonly endHex: string;
  /** No 128-bit value is in range: every partition-key-routed record is out. */
  private readonly noDigest: boolean;
  /** Every 128-bit value is in range (single-shard stream): partition keys need no hashing. */
  private readonly everyDigest: boolean;

  constructor(start: bigint, end: bigint) {
    this.start = start;
    this.end = end;
    this.noDigest = start > end || start > MAX_HASH_KEY || end < 0n;
    this.everyDigest = start <= 0n && end >= MAX_HASH_KEY;
    this.startHex = toHex128(start < 0n ? 0n : start);
    this.endHex = toHex128(end > MAX_HASH_KEY ? MAX_HASH_KEY : end);
  }

  /**
   * Whether every user record is in range (Java checks in order and gives up at the first one
   * outside); undefined when an explicit hash key is not a number, which makes the aggregate malformed.
   * Verdicts are cached per table entry: tables are deduplicated, records often share keys.
   */
  acceptsAll(layout: AggregatedRecordLayout, partitionKeys: string[], explicitHashKeys: string[]): boolean | undefined {
    const partitionKeyVerdicts: (boolean | undefined)[] = [];
    const explicitVerdicts: (boolean | undefined)[] = [];
    const fields = layout.records;
    for (let i = 0; i < fields.length; i += RECORD_STRIDE) {
      const explicitIndex = fields[i + 1]!;
      let inRange: boolean | undefined;
      if (explicitIndex >= 0) {
        inRange = explicitVerdicts[explicitIndex] ??= this.acceptsExplicit(explicitHashKeys[explicitIndex]!);
      } else {
        const pkIndex = fields[i]!;
        inRange = partitionKeyVerdicts[pkIndex] ??= this.acceptsPartitionKey(partitionKeys[pkIndex]!);
      }
      if (inRange === undefined) return undefined;
      if (!inRange) return false;
    }
    return true;
  }

  private acceptsExplicit(explicitHashKey: string): boolean | undefined {
    if (!DECIMAL.test(explicitHashKey)) return undefined;
    const value = BigInt(explicitHashKey);
    return value >= this.start && value <= this.end;
  }

  private acceptsPartitionKey(partitionKey: string): boolean {
    if (this.noDigest || this.everyDigest) return this.everyDigest;
    const digest = md5Hex(partitionKey);
    return digest >= this.startHex && digest <= this.endHex;
  }
}

function toHex128(value: bigint): string {
  return value.toString(16).padStart(32, '0');
}
