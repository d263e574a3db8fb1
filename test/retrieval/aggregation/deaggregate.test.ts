import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { deaggregate, type DeaggregateInput } from '../../../src/retrieval/aggregation/index.ts';
import type { KinesisClientRecord } from '../../../src/retrieval/kinesis-client-record.ts';

// A tiny, independent protobuf encoder so the tests do not trust the code under test.
const MAGIC = [0xf3, 0x89, 0x9a, 0xc2];
const utf8 = (text: string): number[] => [...new TextEncoder().encode(text)];

function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const key = (field: number, wireType: number): number[] => varint((field << 3) | wireType);
const bytesField = (field: number, value: number[]): number[] => [...key(field, 2), ...varint(value.length), ...value];
const varintField = (field: number, value: number | bigint): number[] => [...key(field, 0), ...varint(value)];

interface TestRecord {
  pk: number;
  ehk?: number;
  data: number[];
  extra?: number[];
}

function recordMessage(r: TestRecord): number[] {
  const body = [...varintField(1, r.pk), ...(r.ehk === undefined ? [] : varintField(2, r.ehk)), ...bytesField(3, r.data)];
  return bytesField(3, [...body, ...(r.extra ?? [])]);
}

function aggregatedMessage(pks: string[], ehks: string[], records: TestRecord[]): number[] {
  return [
    ...pks.flatMap((pk) => bytesField(1, utf8(pk))),
    ...ehks.flatMap((ehk) => bytesField(2, utf8(ehk))),
    ...records.flatMap(recordMessage),
  ];
}

/** Magic + protobuf + MD5 of the protobuf: a container the deaggregator must trust. */
function frame(protobuf: number[]): Uint8Array {
  const body = Uint8Array.from(protobuf);
  return Uint8Array.from([...MAGIC, ...body, ...createHash('md5').update(body).digest()]);
}

function kinesisRecord(data: Uint8Array, extra: Partial<DeaggregateInput> = {}): DeaggregateInput {
  return { data, partitionKey: 'outer', sequenceNumber: '49590338271490256608559692538361571095921575989136588898', ...extra };
}

const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const md5Key = (pk: string): bigint => BigInt(`0x${createHash('md5').update(pk, 'utf8').digest('hex')}`);
const MAX = (1n << 128n) - 1n;

function assertPassThrough(input: DeaggregateInput, result: KinesisClientRecord[]): void {
  assert.equal(result.length, 1);
  const [only] = result as [KinesisClientRecord];
  assert.equal(only.data, input.data, 'the very same bytes');
  assert.equal(only.aggregated, false);
  assert.equal(only.subSequenceNumber, 0);
  assert.equal(only.partitionKey, input.partitionKey);
  assert.equal(only.sequenceNumber, input.sequenceNumber);
}

describe('deaggregate', () => {
  const three = frame(
    aggregatedMessage(['alpha', 'beta'], [], [
      { pk: 0, data: utf8('one') },
      { pk: 1, data: utf8('two') },
      { pk: 0, data: utf8('three') },
    ]),
  );

  it('passes a plain record through unchanged', () => {
    const arrival = new Date('2024-01-02T03:04:05Z');
    const input = kinesisRecord(Uint8Array.from(utf8('{"hello":1}')), {
      approximateArrivalTimestamp: arrival,
      explicitHashKey: '42',
      encryptionType: 'KMS',
    });
    const result = deaggregate(input);
    assertPassThrough(input, result);
    assert.equal(result[0]?.approximateArrivalTimestamp, arrival);
    assert.equal(result[0]?.explicitHashKey, '42');
    assert.equal(result[0]?.encryptionType, 'KMS');
  });

  it('numbers user records and shares the container metadata', () => {
    const arrival = new Date('2024-01-02T03:04:05Z');
    const input = kinesisRecord(three, { approximateArrivalTimestamp: arrival, encryptionType: 'KMS' });
    const result = deaggregate(input);
    assert.deepEqual(
      result.map((r) => [r.partitionKey, text(r.data), r.subSequenceNumber, r.aggregated]),
      [
        ['alpha', 'one', 0, true],
        ['beta', 'two', 1, true],
        ['alpha', 'three', 2, true],
      ],
    );
    for (const r of result) {
      assert.equal(r.sequenceNumber, input.sequenceNumber);
      assert.equal(r.approximateArrivalTimestamp.getTime(), arrival.getTime());
      assert.equal(r.encryptionType, 'KMS');
      assert.equal('explicitHashKey' in r, false);
    }
  });

  it('defaults a missing arrival timestamp to the epoch', () => {
    for (const r of [...deaggregate(kinesisRecord(three)), ...deaggregate(kinesisRecord(Uint8Array.of(1)))]) {
      assert.equal(r.approximateArrivalTimestamp.getTime(), 0);
    }
  });

  it('returns views into the input, not copies', () => {
    for (const data of [three.slice(), Buffer.from(three)]) {
      const result = deaggregate(kinesisRecord(data));
      for (const r of result) assert.equal(r.data.buffer, data.buffer);
      const first = result[0]!;
      data[first.data.byteOffset - data.byteOffset] = 'O'.charCodeAt(0);
      assert.equal(text(first.data), 'One', 'writes to the input show through the view');
    }
  });

  it('works on an input that is itself a view at an offset', () => {
    const backing = new Uint8Array(three.length + 10);
    backing.set(three, 7);
    const result = deaggregate(kinesisRecord(backing.subarray(7, 7 + three.length)));
    assert.deepEqual(result.map((r) => text(r.data)), ['one', 'two', 'three']);
  });

  it('reads explicit hash keys from their table when the index is present', () => {
    const data = frame(
      aggregatedMessage(['a', 'b'], ['100', '200'], [
        { pk: 0, ehk: 1, data: [1] },
        { pk: 1, data: [2] },
        { pk: 1, ehk: 0, data: [] },
      ]),
    );
    const result = deaggregate(kinesisRecord(data));
    assert.deepEqual(result.map((r) => r.explicitHashKey), ['200', undefined, '100']);
    assert.deepEqual(result.map((r) => r.data.length), [1, 1, 0]);
  });

  it('decodes non-ASCII partition keys, and invalid UTF-8 with replacement characters', () => {
    const data = frame([
      ...bytesField(1, utf8('clé-€-😀')),
      ...bytesField(1, [0x61, 0xff, 0x62]),
      ...bytesField(1, utf8('\uFEFFbom')),
      ...recordMessage({ pk: 0, data: [] }),
      ...recordMessage({ pk: 1, data: [] }),
      ...recordMessage({ pk: 2, data: [] }),
    ]);
    assert.deepEqual(deaggregate(kinesisRecord(data)).map((r) => r.partitionKey), ['clé-€-😀', 'a\uFFFDb', '\uFEFFbom']);
  });

  it('accepts tables written after the records and non-adjacent table entries', () => {
    const data = frame([
      ...recordMessage({ pk: 1, ehk: 0, data: [9] }),
      ...bytesField(1, utf8('first')),
      ...recordMessage({ pk: 0, data: [8] }),
      ...bytesField(2, utf8('77')),
      ...bytesField(1, utf8('second')),
    ]);
    const result = deaggregate(kinesisRecord(data));
    assert.deepEqual(result.map((r) => [r.partitionKey, r.explicitHashKey, r.data[0]]), [
      ['second', '77', 9],
      ['first', undefined, 8],
    ]);
  });

  it('skips unknown fields of every supported wire type, and ignores tags', () => {
    const unknown = [
      ...varintField(9, 2n ** 63n),
      ...key(10, 1), ...[1, 2, 3, 4, 5, 6, 7, 8],
      ...bytesField(11, [1, 2, 3]),
      ...key(12, 5), ...[1, 2, 3, 4],
    ];
    const tag = bytesField(4, [...bytesField(1, utf8('k')), ...bytesField(2, utf8('v')), ...unknown]);
    const data = frame([
      ...unknown,
      ...bytesField(1, utf8('pk')),
      ...recordMessage({ pk: 0, data: utf8('x'), extra: [...tag, ...unknown] }),
    ]);
    const result = deaggregate(kinesisRecord(data));
    assert.deepEqual(result.map((r) => [r.partitionKey, text(r.data), r.aggregated]), [['pk', 'x', true]]);
  });

  it('returns nothing for a valid aggregate holding zero records (as the Java KCL)', () => {
    assert.deepEqual(deaggregate(kinesisRecord(frame(bytesField(1, utf8('lonely'))))), []);
    assert.deepEqual(deaggregate(kinesisRecord(frame(varintField(15, 1)))), []);
  });

  it('passes through an aggregate whose protobuf is empty (Java needs more than 16 bytes after the magic)', () => {
    const input = kinesisRecord(frame([]));
    assert.equal(input.data.length, 20);
    assertPassThrough(input, deaggregate(input));
  });

  describe('hash key range filter', () => {
    const byExplicit = frame(
      aggregatedMessage(['a'], ['10', '20', '30'], [
        { pk: 0, ehk: 0, data: [1] },
        { pk: 0, ehk: 1, data: [2] },
        { pk: 0, ehk: 2, data: [3] },
      ]),
    );
    const count = (range: { startingHashKey?: string; endingHashKey?: string }): number =>
      deaggregate(kinesisRecord(byExplicit), range).length;

    it('keeps an aggregate whose records are all in range (bounds inclusive)', () => {
      assert.equal(count({ startingHashKey: '10', endingHashKey: '30' }), 3);
      assert.equal(count({ startingHashKey: '0', endingHashKey: MAX.toString() }), 3);
    });

    it('drops the whole aggregate when any record is out of range, including ones before it', () => {
      assert.equal(count({ startingHashKey: '0', endingHashKey: '25' }), 0);
      assert.equal(count({ startingHashKey: '11', endingHashKey: '30' }), 0);
      assert.equal(count({ startingHashKey: '15', endingHashKey: '25' }), 0);
    });

    it('defaults a missing bound to 0 or 2^128-1', () => {
      assert.equal(count({ startingHashKey: '10' }), 3);
      assert.equal(count({ startingHashKey: '11' }), 0);
      assert.equal(count({ endingHashKey: '30' }), 3);
      assert.equal(count({ endingHashKey: '29' }), 0);
      assert.equal(count({}), 3);
    });

    it('uses the MD5 of the partition key when there is no explicit hash key', () => {
      const pks = ['user-1', 'user-2', 'ключ'];
      const data = frame(aggregatedMessage(pks, [], pks.map((_, pk) => ({ pk, data: [pk] }))));
      const hashes = pks.map(md5Key).sort((a, b) => (a < b ? -1 : 1));
      const lowest = hashes[0]!;
      const highest = hashes[2]!;
      const run = (start: bigint, end: bigint): number =>
        deaggregate(kinesisRecord(data), { startingHashKey: start.toString(), endingHashKey: end.toString() }).length;
      assert.equal(run(lowest, highest), 3);
      assert.equal(run(lowest + 1n, MAX), 0);
      assert.equal(run(0n, highest - 1n), 0);
      assert.equal(run(0n, MAX), 3);
      assert.equal(run(MAX + 1n, MAX + 5n), 0);
    });

    it('does not filter plain records', () => {
      const input = kinesisRecord(Uint8Array.of(1, 2, 3));
      assertPassThrough(input, deaggregate(input, { startingHashKey: '0', endingHashKey: '0' }));
    });

    it('treats a non-numeric explicit hash key as malformed only when filtering', () => {
      const data = frame(aggregatedMessage(['a'], ['not-a-number'], [{ pk: 0, ehk: 0, data: [1] }]));
      assert.equal(deaggregate(kinesisRecord(data))[0]?.explicitHashKey, 'not-a-number');
      const input = kinesisRecord(data);
      assertPassThrough(input, deaggregate(input, { startingHashKey: '0' }));
    });

    it('rejects a non-decimal bound', () => {
      assert.throws(() => deaggregate(kinesisRecord(three), { startingHashKey: '0x10' }), RangeError);
      assert.throws(() => deaggregate(kinesisRecord(three), { endingHashKey: '' }), RangeError);
    });
  });

  describe('malformed input passes through as one plain record', () => {
    const valid = aggregatedMessage(['pk'], ['5'], [{ pk: 0, ehk: 0, data: utf8('payload') }]);
    const corpus: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['shorter than the magic', Uint8Array.from(MAGIC.slice(0, 3))],
      ['only the magic', Uint8Array.from(MAGIC)],
      ['magic and 16 bytes', Uint8Array.from([...MAGIC, ...new Array<number>(16).fill(0)])],
      ['bad magic', Uint8Array.from([0xf3, 0x89, 0x9a, 0xc3, ...frame(valid).subarray(4)])],
      ['no magic at all', Uint8Array.from(utf8('just some JSON payload, long enough to be a candidate'))],
      ['digest mismatch', flipLast(frame(valid))],
      ['payload altered after digest', flipAt(frame(valid), 8)],
      ['truncated record', frame(valid.slice(0, valid.length - 3))],
      ['truncated varint', frame([...bytesField(1, utf8('pk')), 0x1a, 0x80])],
      ['length beyond end', frame([...bytesField(1, utf8('pk')), 0x1a, 0x7f, 0x08, 0x00])],
      ['varint longer than 10 bytes', frame([...bytesField(1, utf8('pk')), ...bytesField(3, [0x08, ...new Array<number>(10).fill(0xff), 0x01, 0x1a, 0x00])])],
      ['partition key index beyond table', frame(aggregatedMessage(['pk'], [], [{ pk: 1, data: [1] }]))],
      ['huge partition key index', frame(aggregatedMessage(['pk'], [], [{ pk: 2 ** 40, data: [1] }]))],
      ['64-bit partition key index', frame(aggregatedMessage(['pk'], [], [{ pk: 0, data: [1], extra: varintField(1, 2n ** 64n - 1n) }]))],
      ['explicit hash key index with empty table', frame(aggregatedMessage(['pk'], [], [{ pk: 0, ehk: 0, data: [1] }]))],
      ['records field with varint wire type', frame([...bytesField(1, utf8('pk')), ...varintField(3, 1)])],
      ['partition key index as bytes', frame([...bytesField(1, utf8('pk')), ...bytesField(3, [...bytesField(1, [0]), ...bytesField(3, [])])])],
      ['table entry as fixed32', frame([...key(1, 5), 1, 2, 3, 4])],
      ['record without data', frame([...bytesField(1, utf8('pk')), ...bytesField(3, varintField(1, 0))])],
      ['record without partition key index', frame([...bytesField(1, utf8('pk')), ...bytesField(3, bytesField(3, [1]))])],
      ['tag without key', frame(aggregatedMessage(['pk'], [], [{ pk: 0, data: [1], extra: bytesField(4, bytesField(2, utf8('v'))) }]))],
      ['group wire type', frame([...key(9, 3), ...key(9, 4), ...bytesField(1, utf8('pk'))])],
      ['field number zero', frame([...key(0, 0), 0, ...bytesField(1, utf8('pk'))])],
      ['truncated fixed64', frame([...bytesField(1, utf8('pk')), ...key(9, 1), 1, 2, 3])],
    ];
    for (const [name, data] of corpus) {
      it(name, () => {
        const input = kinesisRecord(data, { explicitHashKey: '99', encryptionType: 'NONE' });
        const result = deaggregate(input);
        assertPassThrough(input, result);
        assert.equal(result[0]?.explicitHashKey, '99');
        assert.equal(result[0]?.encryptionType, 'NONE');
        assert.deepEqual([...result[0].data], [...data], 'bytes untouched');
      });
    }

    it('never throws on random bytes, with or without a valid frame', () => {
      const bytes = fc.uint8Array({ maxLength: 200 });
      const candidate = fc.oneof(bytes, bytes.map((b) => frame([...b])), bytes.map((b) => Uint8Array.from([...MAGIC, ...b])));
      fc.assert(
        fc.property(candidate, fc.boolean(), (data, filtered) => {
          const input = kinesisRecord(data);
          const result = deaggregate(input, filtered ? { startingHashKey: '0', endingHashKey: (MAX / 2n).toString() } : undefined);
          if (result.length === 1 && !result[0]!.aggregated) {
            assert.equal(result[0]!.data, data);
            return;
          }
          result.forEach((r, i) => {
            assert.equal(r.aggregated, true);
            assert.equal(r.subSequenceNumber, i);
            assert.equal(r.data.buffer, data.buffer);
          });
        }),
        { numRuns: 2000 },
      );
    });
  });
});

function flipLast(data: Uint8Array): Uint8Array {
  return flipAt(data, data.length - 1);
}

function flipAt(data: Uint8Array, index: number): Uint8Array {
  const copy = data.slice();
  copy[index]! ^= 1;
  return copy;
}
