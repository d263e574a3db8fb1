import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { aggregate, deaggregate, type AggregateInput } from '../../../src/retrieval/aggregation/index.ts';
import { readAggregatedRecord } from '../../../src/retrieval/aggregation/protobuf.ts';

const utf8Length = (text: string): number => new TextEncoder().encode(text).length;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Unpacks every output and flattens the user records back into inputs. */
function roundTrip(outputs: { partitionKey: string; data: Uint8Array }[]): AggregateInput[] {
  return outputs.flatMap((output, i) =>
    deaggregate({ data: output.data, partitionKey: output.partitionKey, sequenceNumber: String(i) }).map((r) => {
      assert.equal(r.aggregated, true, 'every output is in aggregated form');
      const back: AggregateInput = { partitionKey: r.partitionKey, data: r.data.slice() };
      if (r.explicitHashKey !== undefined) back.explicitHashKey = r.explicitHashKey;
      return back;
    }),
  );
}

const normalize = (records: AggregateInput[]): AggregateInput[] =>
  records.map((r) => ({ ...r, data: Uint8Array.from(r.data) }));

const inputRecord = fc.record(
  {
    partitionKey: fc.oneof(
      fc.constantFrom('a', 'b', 'shared-key'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    ),
    data: fc.uint8Array({ maxLength: 300 }),
    explicitHashKey: fc.oneof(fc.constantFrom(0n, 1n), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })).map(String),
  },
  { requiredKeys: ['partitionKey', 'data'] },
);

describe('aggregate', () => {
  it('round-trips records in order, with sub-sequence numbers', () => {
    const records: AggregateInput[] = [
      { partitionKey: 'a', data: bytes('one') },
      { partitionKey: 'b', data: bytes(''), explicitHashKey: '340282366920938463463374607431768211455' },
      { partitionKey: 'a', data: bytes('three'), explicitHashKey: '0' },
      { partitionKey: 'ünï©ødé 😀', data: bytes('four') },
    ];
    const outputs = aggregate(records);
    assert.equal(outputs.length, 1);
    assert.deepEqual(roundTrip(outputs), normalize(records));
    const unpacked = deaggregate({ data: outputs[0]!.data, partitionKey: 'a', sequenceNumber: '1' });
    assert.deepEqual(unpacked.map((r) => r.subSequenceNumber), [0, 1, 2, 3]);
  });

  it('gives the output the first record partition key, and its explicit hash key only if it has one', () => {
    const [withoutKey] = aggregate([{ partitionKey: 'first', data: bytes('x') }, { partitionKey: 'second', data: bytes('y'), explicitHashKey: '7' }]);
    assert.equal(withoutKey?.partitionKey, 'first');
    assert.equal(withoutKey !== undefined && 'explicitHashKey' in withoutKey, false);
    const [withKey] = aggregate([{ partitionKey: 'first', data: bytes('x'), explicitHashKey: '12345' }]);
    assert.equal(withKey?.partitionKey, 'first');
    assert.equal(withKey?.explicitHashKey, '12345');
  });

  it('wraps a single record in the aggregated format too', () => {
    const [only] = aggregate([{ partitionKey: 'solo', data: bytes('x') }]);
    const unpacked = deaggregate({ data: only!.data, partitionKey: 'solo', sequenceNumber: '1' });
    assert.deepEqual(unpacked.map((r) => [r.aggregated, r.subSequenceNumber]), [[true, 0]]);
  });

  it('deduplicates partition keys and explicit hash keys per aggregate', () => {
    const records = Array.from({ length: 10 }, (_, i): AggregateInput => ({
      partitionKey: i % 2 === 0 ? 'even' : 'odd',
      data: Uint8Array.of(i),
      ...(i % 3 === 0 ? { explicitHashKey: '99' } : {}),
    }));
    const [output] = aggregate(records);
    const data = output!.data;
    const layout = readAggregatedRecord(data, 4, data.length - 16);
    assert.equal(layout.partitionKeys.length / 2, 2);
    assert.equal(layout.explicitHashKeys.length / 2, 1);
    assert.equal(layout.records.length / 4, 10);
    assert.deepEqual(roundTrip([output!]), normalize(records));
  });

  it('writes a valid frame: magic, protobuf, MD5 of the protobuf', () => {
    const [output] = aggregate([{ partitionKey: 'k', data: bytes('v') }]);
    const data = output!.data;
    assert.deepEqual([...data.subarray(0, 4)], [0xf3, 0x89, 0x9a, 0xc2]);
    const digest = createHash('md5').update(data.subarray(4, data.length - 16)).digest();
    assert.deepEqual([...data.subarray(data.length - 16)], [...digest]);
  });

  it('returns nothing for no records', () => {
    assert.deepEqual(aggregate([]), []);
  });

  it('respects maxBytes, keeps order, and fills each aggregate greedily', () => {
    fc.assert(
      fc.property(fc.array(inputRecord, { minLength: 1, maxLength: 40 }), fc.integer({ min: 700, max: 4000 }), (records, maxBytes) => {
        const outputs = aggregate(records, { maxBytes });
        for (const output of outputs) {
          assert.ok(output.data.length + utf8Length(output.partitionKey) <= maxBytes, 'fits in maxBytes');
        }
        assert.deepEqual(roundTrip(outputs), normalize(records));
        // Greedy: each aggregate but the last could not also take the next record.
        let consumed = 0;
        for (const output of outputs.slice(0, -1)) {
          const count = roundTrip([output]).length;
          consumed += count;
          const withNext = records.slice(consumed - count, consumed + 1);
          assert.ok(aggregate(withNext, { maxBytes }).length > 1, 'the next record would not have fit');
        }
      }),
      { numRuns: 150 },
    );
  });

  it('fills the default 1 MiB budget exactly up to the limit', () => {
    const partitionKey = 'k';
    const overhead = aggregate([{ partitionKey, data: new Uint8Array(1000) }])[0]!.data.length - 1000;
    // The varint length prefixes grow by 2 bytes between 1000 and ~1 MiB of data.
    const fits = 1024 * 1024 - overhead - utf8Length(partitionKey) - 2;
    const [output] = aggregate([{ partitionKey, data: new Uint8Array(fits) }]);
    assert.equal(output!.data.length + 1, 1024 * 1024);
    assert.throws(() => aggregate([{ partitionKey, data: new Uint8Array(fits + 1) }]), RangeError);
  });

  it('throws a RangeError naming a record too large to fit alone', () => {
    const records = [
      { partitionKey: 'ok', data: new Uint8Array(10) },
      { partitionKey: 'big', data: new Uint8Array(500) },
    ];
    assert.throws(() => aggregate(records, { maxBytes: 400 }), (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, /record 1 .*500 bytes of data.*maxBytes 400/);
      return true;
    });
  });

  it('validates its input', () => {
    const data = new Uint8Array(1);
    const invalid: [string, unknown, RegExp][] = [
      ['empty partition key', [{ partitionKey: '', data }], /record 0: partitionKey/],
      ['257-character partition key', [{ partitionKey: 'x'.repeat(257), data }], /partitionKey/],
      ['lone surrogate', [{ partitionKey: 'a\uD800', data }], /lone surrogate/],
      ['negative hash key', [{ partitionKey: 'a', data, explicitHashKey: '-1' }], /explicitHashKey/],
      ['leading zero', [{ partitionKey: 'a', data, explicitHashKey: '01' }], /explicitHashKey/],
      ['hash key of 2^128', [{ partitionKey: 'a', data, explicitHashKey: (1n << 128n).toString() }], /explicitHashKey/],
      ['non-decimal hash key', [{ partitionKey: 'a', data, explicitHashKey: 'abc' }], /explicitHashKey/],
      ['data not bytes', [{ partitionKey: 'a', data: 'text' }], /data must be a Uint8Array/],
    ];
    for (const [name, records, message] of invalid) {
      assert.throws(() => aggregate(records as AggregateInput[]), message, name);
    }
    assert.equal(aggregate([{ partitionKey: 'x'.repeat(256), data }]).length, 1, '256 characters is the limit');
    assert.throws(() => aggregate([], { maxBytes: 0 }), RangeError);
    assert.throws(() => aggregate([], { maxBytes: 1.5 }), /maxBytes must be a positive integer/);
  });
});
