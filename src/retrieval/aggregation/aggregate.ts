import { createHash } from 'node:crypto';
import {
  lengthDelimitedSize,
  recordBodySize,
  writeAggregatedRecord,
  type RecordEntry,
} from './protobuf.ts';

/** A user record to pack. */
export interface AggregateInput {
  /** Its partition key (kept inside the aggregate). */
  partitionKey: string;
  /** Its payload. */
  data: Uint8Array;
  /** Its explicit hash key, if any (kept inside the aggregate). */
  explicitHashKey?: string;
}

/** A Kinesis record ready for PutRecord(s). */
export interface AggregatedRecord {
  /** The partition key to put with: the first packed record's. */
  partitionKey: string;
  /** The explicit hash key to put with, when the first packed record had one. */
  explicitHashKey?: string;
  /** The KPL aggregate bytes (magic, protobuf, MD5). */
  data: Uint8Array;
}

/** How `aggregate` packs. */
export interface AggregateOptions {
  /** Budget for each output's data plus its partition key's UTF-8 bytes (Kinesis counts both). Default 1 MiB. */
  maxBytes?: number;
}

const MAGIC = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
const DIGEST_SIZE = 16;
const DEFAULT_MAX_BYTES = 1024 * 1024;
const MAX_PARTITION_KEY_LENGTH = 256;
const MAX_HASH_KEY = (1n << 128n) - 1n;
// The PutRecord API's pattern for ExplicitHashKey: no sign, no leading zeros.
const EXPLICIT_HASH_KEY = /^(0|[1-9][0-9]{0,38})$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Packs user records, in order, into KPL aggregates (magic, AggregatedRecord protobuf, MD5)
 * readable by the Java KCL, the KPL's deaggregators and `deaggregate`. Each output holds as many
 * consecutive records as fit in `maxBytes`; partition keys and explicit hash keys are
 * deduplicated per aggregate.
 *
 * Like the KPL, an output carries its first user record's partition key, and its explicit hash
 * key if it has one, so Kinesis routes it to that record's shard. Records are not grouped by
 * shard: a consumer that filters by the shard's hash key range (the Java KCL does) drops a whole
 * aggregate whose user records map to different shards, so group records by shard (or give a
 * batch one partition key / explicit hash key) before calling this on a multi-shard stream.
 *
 * Every output is in aggregated form, even when it holds a single user record, so consumers
 * always see `aggregated: true` and sub-sequence numbers.
 *
 * @throws TypeError / RangeError for invalid input, naming the record's index;
 *   RangeError when a record cannot fit in `maxBytes` even alone.
 */
export function aggregate(records: readonly AggregateInput[], options: AggregateOptions = {}): AggregatedRecord[] {
  const maxBytes = validMaxBytes(options.maxBytes);
  const encoder = new KeyEncoder();
  const result: AggregatedRecord[] = [];
  let batch = new Batch(encoder);
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    validateRecord(record, index);
    if (batch.tryAdd(record, maxBytes)) continue;
    if (batch.isEmpty()) throw tooLarge(record, index, batch.sizeWith(record), maxBytes);
    result.push(batch.finish());
    batch = new Batch(encoder);
    if (!batch.tryAdd(record, maxBytes)) throw tooLarge(record, index, batch.sizeWith(record), maxBytes);
  }
  if (!batch.isEmpty()) result.push(batch.finish());
  return result;
}

/** UTF-8 encodes each distinct key once per call. */
class KeyEncoder {
  private readonly encoder = new TextEncoder();
  private readonly cache = new Map<string, Uint8Array>();

  encode(key: string): Uint8Array {
    let bytes = this.cache.get(key);
    if (bytes === undefined) {
      bytes = this.encoder.encode(key);
      this.cache.set(key, bytes);
    }
    return bytes;
  }
}

/** A deduplicating key table. */
class KeyTable {
  readonly entries: Uint8Array[] = [];
  private readonly indexByKey = new Map<string, number>();

  /** Index `key` has or would get. */
  indexOf(key: string): number {
    return this.indexByKey.get(key) ?? this.entries.length;
  }

  has(key: string): boolean {
    return this.indexByKey.has(key);
  }

  add(key: string, bytes: Uint8Array): number {
    const index = this.indexOf(key);
    if (index === this.entries.length) {
      this.indexByKey.set(key, index);
      this.entries.push(bytes);
    }
    return index;
  }
}

/** The aggregate being filled, with its exact encoded protobuf size kept up to date. */
class Batch {
  private readonly partitionKeys = new KeyTable();
  private readonly explicitHashKeys = new KeyTable();
  private readonly records: RecordEntry[] = [];
  private first: AggregateInput | undefined;
  private protobufSize = 0;
  private readonly encoder: KeyEncoder;

  constructor(encoder: KeyEncoder) {
    this.encoder = encoder;
  }

  isEmpty(): boolean {
    return this.first === undefined;
  }

  /** Output size (data + outer partition key bytes) if `record` were added. */
  sizeWith(record: AggregateInput): number {
    return this.outputSize(record, this.growth(record));
  }

  tryAdd(record: AggregateInput, maxBytes: number): boolean {
    const growth = this.growth(record);
    if (this.outputSize(record, growth) > maxBytes) return false;
    this.first ??= record;
    this.protobufSize += growth;
    const partitionKeyIndex = this.partitionKeys.add(record.partitionKey, this.encoder.encode(record.partitionKey));
    const explicitHashKeyIndex =
      record.explicitHashKey === undefined
        ? -1
        : this.explicitHashKeys.add(record.explicitHashKey, this.encoder.encode(record.explicitHashKey));
    this.records.push({ partitionKeyIndex, explicitHashKeyIndex, data: record.data });
    return true;
  }

  private outputSize(record: AggregateInput, growth: number): number {
    const outerKey = this.encoder.encode((this.first ?? record).partitionKey);
    return MAGIC.length + this.protobufSize + growth + DIGEST_SIZE + outerKey.length;
  }

  /** Protobuf bytes `record` adds: its Record entry plus any new table entries. */
  private growth(record: AggregateInput): number {
    const { partitionKey, explicitHashKey } = record;
    let size = 0;
    if (!this.partitionKeys.has(partitionKey)) size += lengthDelimitedSize(this.encoder.encode(partitionKey).length);
    let explicitHashKeyIndex = -1;
    if (explicitHashKey !== undefined) {
      explicitHashKeyIndex = this.explicitHashKeys.indexOf(explicitHashKey);
      if (!this.explicitHashKeys.has(explicitHashKey)) size += lengthDelimitedSize(explicitHashKey.length);
    }
    const body = recordBodySize(this.partitionKeys.indexOf(partitionKey), explicitHashKeyIndex, record.data.length);
    return size + lengthDelimitedSize(body);
  }

  finish(): AggregatedRecord {
    const first = this.first!;
    const message = {
      partitionKeyTable: this.partitionKeys.entries,
      explicitHashKeyTable: this.explicitHashKeys.entries,
      records: this.records,
    };
    const bodyEnd = MAGIC.length + this.protobufSize;
    const data = new Uint8Array(bodyEnd + DIGEST_SIZE);
    data.set(MAGIC, 0);
    if (writeAggregatedRecord(data, MAGIC.length, message) !== bodyEnd) throw new Error('aggregate size miscomputed');
    data.set(createHash('md5').update(data.subarray(MAGIC.length, bodyEnd)).digest(), bodyEnd);
    const output: AggregatedRecord = { partitionKey: first.partitionKey, data };
    if (first.explicitHashKey !== undefined) output.explicitHashKey = first.explicitHashKey;
    return output;
  }
}

function tooLarge(record: AggregateInput, index: number, size: number, maxBytes: number): RangeError {
  return new RangeError(
    `record ${index} does not fit in one aggregate: ${size} bytes aggregated ` +
      `(${record.data.length} bytes of data, the rest partition key and framing), over maxBytes ${maxBytes}`,
  );
}

function validMaxBytes(maxBytes: number | undefined): number {
  if (maxBytes === undefined) return DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  }
  return maxBytes;
}

function validateRecord(record: AggregateInput, index: number): void {
  const { partitionKey, explicitHashKey, data } = record;
  if (!(data instanceof Uint8Array)) throw new TypeError(`record ${index}: data must be a Uint8Array`);
  if (typeof partitionKey !== 'string' || partitionKey.length < 1 || partitionKey.length > MAX_PARTITION_KEY_LENGTH) {
    throw new RangeError(`record ${index}: partitionKey must be a string of 1 to ${MAX_PARTITION_KEY_LENGTH} characters`);
  }
  // A lone surrogate cannot be UTF-8 encoded, so it would not survive the round trip.
  if (LONE_SURROGATE.test(partitionKey)) {
    throw new RangeError(`record ${index}: partitionKey is not well-formed Unicode (lone surrogate)`);
  }
  if (explicitHashKey !== undefined && !isHashKey(explicitHashKey)) {
    throw new RangeError(
      `record ${index}: explicitHashKey must be a decimal integer in [0, 2^128-1], got ${JSON.stringify(explicitHashKey)}`,
    );
  }
}

function isHashKey(value: string): boolean {
  return typeof value === 'string' && EXPLICIT_HASH_KEY.test(value) && BigInt(value) <= MAX_HASH_KEY;
}
