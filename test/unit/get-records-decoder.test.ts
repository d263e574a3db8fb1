import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GetRecordsCommandOutput, _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { decodeGetRecords } from '../../src/retrieval/polling/get-records-decoder.ts';

const $metadata = { httpStatusCode: 200, attempts: 1 };

/** What the decoder must give: the answer through JSON.parse, as the lean path decoded it before. */
function reference(text: string): GetRecordsCommandOutput {
  const wire = JSON.parse(text) as Record<string, unknown> & { Records?: Record<string, unknown>[] | null };
  const out: GetRecordsCommandOutput = { $metadata, Records: undefined };
  if (wire.Records) {
    out.Records = wire.Records.map((r) => {
      const bytes = Buffer.from((r.Data as string | null | undefined) ?? '', 'base64');
      const record: KinesisRecord = { SequenceNumber: r.SequenceNumber as string, PartitionKey: r.PartitionKey as string, Data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
      if (r.ApproximateArrivalTimestamp !== undefined) record.ApproximateArrivalTimestamp = new Date(Math.round((r.ApproximateArrivalTimestamp as number) * 1000));
      if (r.EncryptionType !== undefined) record.EncryptionType = r.EncryptionType as KinesisRecord['EncryptionType'];
      return record;
    });
  }
  if (wire.NextShardIterator !== undefined && wire.NextShardIterator !== null) out.NextShardIterator = wire.NextShardIterator as string;
  if (wire.MillisBehindLatest !== undefined) out.MillisBehindLatest = wire.MillisBehindLatest as number;
  if (wire.ChildShards !== undefined) out.ChildShards = wire.ChildShards as GetRecordsCommandOutput['ChildShards'];
  return out;
}

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const TRICKY = ['plain', 'ünïcødé-日本', 'quote " inside', 'back\\slash', 'slash / and \\/', 'brace } ] , :', 'line\nbreak\ttab', '\u2028\u2029', 'emoji 🦀', '\u0000\u001f', ''];

function page(next: () => number): Record<string, unknown> {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const noise = (): unknown => pick([1.5e3, -0, true, false, null, pick(TRICKY), [pick(TRICKY), { a: [{}, []], '}': '"' }], { nested: { deeper: [1, '2', null] } }]);
  const records = Array.from({ length: Math.floor(next() * 12) }, (_, i) => {
    const fields: [string, unknown][] = [
      ['SequenceNumber', `49${String(i).padStart(54, '0')}`],
      ['Data', Buffer.from(Array.from({ length: pick([0, 1, 2, 3, 57, 200]) }, () => Math.floor(next() * 256))).toString('base64')],
      ['PartitionKey', pick(TRICKY)],
    ];
    if (next() < 0.8) fields.push(['ApproximateArrivalTimestamp', pick([1764680000.123, 1764680000, 0.0005, 1.7646800001239e9])]);
    if (next() < 0.3) fields.push(['EncryptionType', pick(['NONE', 'KMS'])]);
    if (next() < 0.3) fields.push([pick(['Unknown', 'Data2', 'Dat', 'Sequence\\u004eumber', pick(TRICKY)]), noise()]);
    return Object.fromEntries(fields.sort(() => next() - 0.5));
  });
  const members: [string, unknown][] = [['Records', pick([records, records, records, [], null])]];
  if (next() < 0.8) members.push(['NextShardIterator', pick(['AAAAiterator/+=', null])]);
  if (next() < 0.8) members.push(['MillisBehindLatest', pick([0, 1234, 86400000])]);
  if (next() < 0.3) members.push(['ChildShards', [{ ShardId: 'shardId-000000000002', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } }]]);
  if (next() < 0.3) members.push(['Other', noise()]);
  return Object.fromEntries(members.sort(() => next() - 0.5));
}

/** The same document written as different servers might: compact, indented, with escaped slashes, escaped letters. */
const spellings: Record<string, (value: unknown) => string> = {
  compact: (v) => JSON.stringify(v),
  indented: (v) => JSON.stringify(v, null, 2).replace(/\n/g, '\r\n\t'),
  'escaped slashes': (v) => JSON.stringify(v).replace(/\//g, '\\/'),
  'escaped letters in strings': (v) => JSON.stringify(v).replace(/"PartitionKey":"p/g, '"PartitionKey":"\\u0070').replace(/"NONE"/g, '"\\u004eONE"'),
  'escaped letters in names': (v) => JSON.stringify(v).replace(/"Data":/g, '"Dat\\u0061":').replace(/"SequenceNumber":/g, '"Sequence\\u004eumber":').replace(/"NextShardIterator":/g, '"\\u004eextShardIterator":'),
};

describe('decodeGetRecords', () => {
  it('decodes what JSON.parse decodes: 400 random pages in every spelling, members in any order, unknown members skipped', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const value = page(random(seed));
      for (const [name, spell] of Object.entries(spellings)) {
        const text = spell(value);
        assert.deepEqual(decodeGetRecords(Buffer.from(text), $metadata), reference(text), `seed ${seed}, ${name}: ${text.slice(0, 300)}`);
      }
    }
  });

  it('a record’s Data keeps its own bytes: base64 with escaped slashes, padding, none at all, null', () => {
    const text = '{"Records":[{"SequenceNumber":"1","PartitionKey":"k","Data":"\\/w=="},{"SequenceNumber":"2","PartitionKey":"k","Data":"YWJj"},{"SequenceNumber":"3","PartitionKey":"k"},{"SequenceNumber":"4","PartitionKey":"k","Data":null}]}';
    const out = decodeGetRecords(Buffer.from(text), $metadata);
    assert.deepEqual(
      out.Records?.map((r) => Buffer.from(r.Data!).toString('hex')),
      ['ff', '616263', '', ''],
    );
    assert.ok(out.Records?.every((r) => r.Data instanceof Uint8Array && !Buffer.isBuffer(r.Data)));
  });

  it('anything short of the whole answer is a SyntaxError naming the byte, never a partial page', () => {
    const text = JSON.stringify(page(random(7)));
    for (let at = 0; at < text.length; at++) {
      assert.throws(() => decodeGetRecords(Buffer.from(text.slice(0, at)), $metadata), (err: unknown) => err instanceof SyntaxError && /GetRecords answer is not JSON: expected .* at byte \d+ of \d+/.test(err.message), `cut at ${at}`);
    }
  });

  it('a repeated member counts as the last one, as in JSON.parse', () => {
    for (const text of ['{"Records":[{"SequenceNumber":"1","Data":"YQ=="}],"Records":null}', '{"NextShardIterator":"a","NextShardIterator":null}', '{"Records":[],"Records":[{"Data":"YQ==","Data":"Yg=="}],"NextShardIterator":null,"NextShardIterator":"b"}']) {
      assert.deepEqual(decodeGetRecords(Buffer.from(text), $metadata), reference(text), text);
    }
  });

  it('Records that are neither an array nor null are a SyntaxError, not an empty page that would move the iterator on', () => {
    for (const records of ['true', 'false', '{}', '"abc"', '0']) {
      assert.throws(() => decodeGetRecords(Buffer.from(`{"Records":${records},"NextShardIterator":"next"}`), $metadata), /Records that are not an array/, records);
    }
  });

  it('a number JSON.parse rejects is a SyntaxError, not what Number() makes of it (hex, octal, leading zeros, a bare point)', () => {
    for (const n of ['0x10', '0o7', '0b1', '012', '1.', '-0x1', '1e', '-', '1_0', '-Infinity', '00']) {
      for (const text of [`{"Records":[],"MillisBehindLatest":${n}}`, `{"Records":[{"SequenceNumber":"1","Data":"YQ==","ApproximateArrivalTimestamp":${n}}]}`]) {
        assert.throws(() => JSON.parse(text), SyntaxError, `JSON.parse takes ${text}`);
        assert.throws(() => decodeGetRecords(Buffer.from(text), $metadata), (err: unknown) => err instanceof SyntaxError && /expected a JSON value/.test(err.message), text);
      }
    }
    for (const n of ['0', '-0', '12', '1.5', '-1.5e3', '1E+2', '2e-2', '1739999999.123']) {
      const text = `{"Records":[{"SequenceNumber":"1","Data":"YQ==","ApproximateArrivalTimestamp":${n}}],"MillisBehindLatest":${n}}`;
      assert.deepEqual(decodeGetRecords(Buffer.from(text), $metadata), reference(text), text);
    }
  });

  it('an arrival time in any JSON spelling gives the milliseconds Math.round(seconds * 1000) gives, on the digits path and off it', () => {
    const next = random(11);
    const digits = (n: number, first = '123456789'): string => Array.from({ length: n }, (_, i) => (i === 0 ? first : '0123456789')[Math.floor(next() * (i === 0 ? first.length : 10))]).join('');
    const times = ['1764680000.123', '1764680000.1', '1764680000.12', '1764680000', '1764680000.999', '999999999999.999', '999999999999.9995', '1000000000000.5', '1764680000.1235', '0', '0.5', '0.0005', '-1.5', '1.0e3', '1E-3', '9007199254740.993'];
    for (let i = 0; i < 2000; i++) {
      const fraction = Math.floor(next() * 6);
      times.push(`${digits(1 + Math.floor(next() * 14))}${fraction ? `.${digits(fraction, '0123456789')}` : ''}${next() < 0.1 ? `e${Math.floor(next() * 5) - 2}` : ''}`);
    }
    for (const t of times.filter((t) => Math.abs(Number(t)) <= 8.64e12)) { // beyond it both are an Invalid Date, which deepEqual never equates
      for (const text of [`{"Records":[{"ApproximateArrivalTimestamp":${t},"SequenceNumber":"1","Data":"YQ=="}]}`, `{"Records":[{"SequenceNumber":"1","Data":"YQ==","ApproximateArrivalTimestamp":${t}}]}`, `{"Records":[{"Data":"YQ==","ApproximateArrivalTimestamp":${t} }]}`]) {
        assert.deepEqual(decodeGetRecords(Buffer.from(text), $metadata), reference(text), text);
      }
    }
  });

  it('bytes after the answer, and a Data that is not a string, are SyntaxErrors too', () => {
    assert.throws(() => decodeGetRecords(Buffer.from('{"Records":[]} x'), $metadata), /expected the end of the answer at byte 15/);
    assert.throws(() => decodeGetRecords(Buffer.from('{"Records":[]}{}'), $metadata), SyntaxError);
    assert.throws(() => decodeGetRecords(Buffer.from('{"Records":[{"Data":12}]}'), $metadata), /expected a base64 string/);
    assert.throws(() => decodeGetRecords(Buffer.from('{"Records":[{"Data":"YQ==" "x":1}]}'), $metadata), /expected ',' or '}'/);
    assert.throws(() => decodeGetRecords(Buffer.from('[]'), $metadata), /expected '\{' at byte 0/);
  });
});
