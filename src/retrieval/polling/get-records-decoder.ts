import type { GetRecordsCommandOutput, _Record as KinesisRecord } from '@aws-sdk/client-kinesis';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const DOT = 0x2e;

/**
 * GetRecords' JSON answer, read straight from its bytes into what `GetRecordsCommand` returns (`Data`
 * as bytes, `ApproximateArrivalTimestamp` as a Date). A page of 10,000 records is megabytes of JSON:
 * `JSON.parse` of its text builds the whole text as one string, then an object and a base64 string
 * per record, all of which die as soon as the bytes are decoded. Reading the bytes builds only what
 * the records keep, which is most of what a poll allocates. Members the decoder does not use are
 * skipped; any other member (NextShardIterator, ChildShards, ...) is parsed by `JSON.parse` alone.
 */
export function decodeGetRecords(body: Buffer, $metadata: GetRecordsCommandOutput['$metadata']): GetRecordsCommandOutput {
  const reader = new JsonReader(body);
  const out: GetRecordsCommandOutput = { $metadata, Records: undefined };
  for (let more = reader.enter(OPEN_OBJECT, CLOSE_OBJECT); more; more = reader.next(CLOSE_OBJECT)) {
    reader.name();
    if (reader.nameIs(RECORDS)) out.Records = reader.peek() === OPEN_ARRAY ? readRecords(reader) : noRecords(reader);
    else if (reader.nameIs(NEXT_SHARD_ITERATOR)) {
      const value = reader.value();
      if (value !== null) out.NextShardIterator = value as string;
      else delete out.NextShardIterator; // a repeated member: the last one counts, as in JSON.parse
    } else if (reader.nameIs(MILLIS_BEHIND_LATEST)) out.MillisBehindLatest = reader.value() as number;
    else if (reader.nameIs(CHILD_SHARDS)) out.ChildShards = reader.value() as GetRecordsCommandOutput['ChildShards'];
    else reader.skip();
  }
  reader.end();
  return out;
}

/** `"Records": null` is no records; anything else that is not an array is not an answer to trust (an empty page would move the iterator on). */
function noRecords(reader: JsonReader): undefined {
  if (reader.value() !== null) throw new SyntaxError('GetRecords answer has Records that are not an array');
  return undefined;
}

function readRecords(reader: JsonReader): KinesisRecord[] {
  const records: KinesisRecord[] = [];
  for (let more = reader.enter(OPEN_ARRAY, CLOSE_ARRAY); more; more = reader.next(CLOSE_ARRAY)) records.push(readRecord(reader));
  return records;
}

/** The member names read, matched on their bytes so that no name becomes a string. */
const RECORDS = Buffer.from('Records');
const NEXT_SHARD_ITERATOR = Buffer.from('NextShardIterator');
const MILLIS_BEHIND_LATEST = Buffer.from('MillisBehindLatest');
const CHILD_SHARDS = Buffer.from('ChildShards');
const DATA = Buffer.from('Data');
const SEQUENCE_NUMBER = Buffer.from('SequenceNumber');
const PARTITION_KEY = Buffer.from('PartitionKey');
const ARRIVAL = Buffer.from('ApproximateArrivalTimestamp');
const ENCRYPTION_TYPE = Buffer.from('EncryptionType');

function readRecord(reader: JsonReader): KinesisRecord {
  let data: Buffer | undefined;
  const record: KinesisRecord = { SequenceNumber: undefined, PartitionKey: undefined, Data: undefined };
  for (let more = reader.enter(OPEN_OBJECT, CLOSE_OBJECT); more; more = reader.next(CLOSE_OBJECT)) {
    reader.name();
    if (reader.nameIs(DATA)) data = reader.base64();
    else if (reader.nameIs(SEQUENCE_NUMBER)) record.SequenceNumber = reader.value() as string;
    else if (reader.nameIs(PARTITION_KEY)) record.PartitionKey = reader.value() as string;
    else if (reader.nameIs(ARRIVAL)) record.ApproximateArrivalTimestamp = new Date(reader.thousandths());
    else if (reader.nameIs(ENCRYPTION_TYPE)) record.EncryptionType = reader.value() as KinesisRecord['EncryptionType'];
    else reader.skip();
  }
  data ??= Buffer.alloc(0);
  record.Data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return record;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** Whether `c` is where a number, `true`, `false` or `null` ends (the end of the bytes is not: a cut answer). */
const endsScalar = (c: number | undefined): boolean => c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || c === COLON || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** JSON's number grammar (RFC 8259, section 6). */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * A forward-only reader of one JSON document in a Buffer: just enough structure for the decoder above.
 * Strings without escapes (all of a Kinesis answer in practice) are sliced from the bytes; a string
 * with an escape, and any value read whole, goes through `JSON.parse`, so escapes are never
 * interpreted here. Anything that is not JSON throws a SyntaxError naming the byte.
 */
class JsonReader {
  private pos = 0;
  private nameStart = 0;
  private nameEnd = 0;
  private escapedName: string | undefined;
  /** Where the next backslash at or after `pos` is (Infinity: none): one search for the whole body. */
  private nextBackslash = -1;

  constructor(private readonly bytes: Buffer) {}

  /** Steps into the object or array at the cursor: false when it is empty (and stepped over). */
  enter(open: number, close: number): boolean {
    this.expect(open);
    if (this.peek() !== close) return true;
    this.pos++;
    return false;
  }

  /** After a member or element: false at the closing bracket, true at a comma (both consumed). */
  next(close: number): boolean {
    const c = this.peek();
    this.pos++;
    if (c === close) return false;
    if (c === COMMA) return true;
    throw this.error(`',' or '${String.fromCharCode(close)}'`, this.pos - 1);
  }

  /** Reads a member's name for `nameIs`, as bytes, and leaves the cursor on its value. */
  name(): void {
    if (this.peek() !== QUOTE) throw this.error('a string');
    this.nameStart = this.pos + 1;
    this.nameEnd = this.closingQuote();
    // A name spelled with escapes ("Dat\u0061") is compared decoded; the rest as bytes.
    this.escapedName = this.nameEnd < this.backslashFrom(this.nameStart) ? undefined : (this.parse(this.pos, this.nameEnd + 1) as string);
    this.pos = this.nameEnd + 1;
    this.expect(COLON);
    this.peek();
  }

  /** Whether the name `name()` read is this one (of plain ASCII letters, as every GetRecords name is). */
  nameIs(name: Buffer): boolean {
    if (this.escapedName !== undefined) return this.escapedName === name.toString('latin1');
    const start = this.nameStart;
    if (this.nameEnd - start !== name.length) return false;
    for (let i = 0; i < name.length; i++) if (this.bytes[start + i] !== name[i]) return false;
    return true;
  }

  /** The value at the cursor, as `JSON.parse` gives it (a plain string is sliced, not parsed). */
  value(): unknown {
    if (this.peek() === QUOTE) return this.string();
    const start = this.pos;
    this.skip();
    const first = this.bytes[start]!;
    // Number() reads a JSON number as JSON.parse does, and needs no parser; it also takes what JSON
    // does not ("0x10", "012", "1."), which the grammar check sends to JSON.parse to be refused.
    if (isDigit(first) || first === 0x2d) {
      const text = this.bytes.toString('latin1', start, this.pos);
      if (JSON_NUMBER.test(text)) return Number(text);
    }
    return this.parse(start, this.pos);
  }

  /**
   * The number at the cursor times 1000, rounded, as `Math.round(value() * 1000)` reads it: arrival times
   * (seconds) to milliseconds. Kinesis writes them with up to 3 decimals; those are read from the digits,
   * without a string or a regular expression. Up to 12 digits before the point keeps the result an exact
   * integer, and one `Math.round(Number(text) * 1000)` also gives (its rounding error stays under 0.2).
   * Anything else (a sign, a leading zero, more decimals, an exponent, not a number) takes `value()`.
   */
  thousandths(): number {
    const bytes = this.bytes;
    const start = this.pos;
    let at = start;
    let whole = 0;
    if (bytes[at] !== 0x30) for (; at < start + 12 && isDigit(bytes[at]); at++) whole = whole * 10 + bytes[at]! - 0x30;
    let scale = 1000;
    let fraction = 0;
    if (at > start && bytes[at] === DOT) {
      const digits = ++at;
      for (; at < digits + 3 && isDigit(bytes[at]); at++, scale /= 10) fraction = fraction * 10 + bytes[at]! - 0x30;
      if (at === digits) scale = 0; // "1." is not JSON
    }
    if (at > start && scale > 0 && endsScalar(bytes[at])) {
      this.pos = at;
      return whole * 1000 + fraction * scale;
    }
    return Math.round((this.value() as number) * 1000);
  }

  /** The base64 string at the cursor, decoded; `null` decodes to no bytes, as `Buffer.from('')` does. */
  base64(): Buffer {
    if (this.peek() !== QUOTE) {
      const value = this.value();
      if (value === null) return Buffer.alloc(0);
      throw this.error('a base64 string');
    }
    return Buffer.from(this.string('latin1'), 'base64'); // base64 is ASCII: latin1 is the cheaper slice
  }

  /** Steps over the value at the cursor. */
  skip(): void {
    const first = this.peek();
    if (first === QUOTE) return void this.stepOverString();
    if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) return this.stepOverScalar();
    let depth = 0;
    do {
      const c = this.peek();
      if (c === QUOTE) this.stepOverString();
      else {
        if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
        else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
        else if (c !== COMMA && c !== COLON) {
          this.stepOverScalar();
          continue;
        }
        this.pos++;
      }
    } while (depth > 0);
  }

  /** Nothing but whitespace may follow the document. */
  end(): void {
    if (this.peek() !== -1) throw this.error('the end of the answer');
  }

  /** The next byte that is not whitespace (the cursor moves to it), or -1 at the end. */
  peek(): number {
    const bytes = this.bytes;
    while (this.pos < bytes.length) {
      const c = bytes[this.pos]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
      this.pos++;
    }
    return -1;
  }

  /** The string at the cursor: a plain one sliced from the bytes as `encoding`, one with escapes parsed. */
  private string(encoding: 'utf8' | 'latin1' = 'utf8'): string {
    if (this.peek() !== QUOTE) throw this.error('a string');
    const start = this.pos;
    const end = this.closingQuote();
    this.pos = end + 1;
    if (end < this.backslashFrom(start)) return this.bytes.toString(encoding, start + 1, end);
    return this.parse(start, end + 1) as string;
  }

  private stepOverString(): void {
    this.pos = this.closingQuote() + 1;
  }

  /** The index of the quote that closes the string opening at the cursor (escaped quotes skipped). */
  private closingQuote(): number {
    let at = this.pos + 1;
    for (;;) {
      const quote = this.bytes.indexOf(QUOTE, at);
      if (quote < 0) throw this.error('a closing quote');
      let backslashes = 0;
      while (this.bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) return quote;
      at = quote + 1;
    }
  }

  private stepOverScalar(): void {
    const start = this.pos;
    const bytes = this.bytes;
    while (this.pos < bytes.length && !endsScalar(bytes[this.pos])) this.pos++;
    if (this.pos === start) throw this.error('a value');
  }

  private expect(c: number): void {
    if (this.peek() !== c) throw this.error(`'${String.fromCharCode(c)}'`);
    this.pos++;
  }

  private backslashFrom(at: number): number {
    if (this.nextBackslash !== Infinity && this.nextBackslash < at) {
      const found = this.bytes.indexOf(BACKSLASH, at);
      this.nextBackslash = found < 0 ? Infinity : found;
    }
    return this.nextBackslash;
  }

  private parse(start: number, end: number): unknown {
    try {
      return JSON.parse(this.bytes.toString('utf8', start, end));
    } catch {
      throw this.error('a JSON value', start);
    }
  }

  private error(expected: string, at = this.pos): SyntaxError {
    const found = at < this.bytes.length ? `'${String.fromCharCode(this.bytes[at]!)}'` : 'the end';
    return new SyntaxError(`GetRecords answer is not JSON: expected ${expected} at byte ${at} of ${this.bytes.length}, found ${found}`);
  }
}
