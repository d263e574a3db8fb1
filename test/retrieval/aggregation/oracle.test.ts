/**
 * Cross-checks against the reference Node implementation, `aws-kinesis-agg` (awslabs/kinesis-aggregation),
 * in both directions.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { aggregate, deaggregate, type AggregateInput } from '../../../src/retrieval/aggregation/index.ts';

/** The parts of aws-kinesis-agg's CommonJS API used here (its bundled typings need aws-sdk v2). */
interface AwsKinesisAgg {
  deaggregateSync(
    record: { data: string; partitionKey: string; sequenceNumber: string },
    computeChecksums: boolean,
    done: (error: Error | null | undefined, userRecords?: AwsUserRecord[]) => void,
  ): void;
  aggregate(
    records: { partitionKey: string; data: Buffer; explicitHashKey?: string }[],
    encodedRecordHandler: (encoded: AwsEncodedRecord, done: (error?: Error) => void) => void,
    afterPutAggregatedRecords: () => void,
    errorCallback: (error: Error) => void,
  ): void;
}

interface AwsUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  /** base64 */
  data: string;
}

interface AwsEncodedRecord {
  partitionKey: string;
  ExplicitHashKey?: string;
  data: Buffer;
}

const awsAgg = createRequire(import.meta.url)('aws-kinesis-agg') as AwsKinesisAgg;

function awsDeaggregate(data: Uint8Array, sequenceNumber: string): AwsUserRecord[] {
  let result: AwsUserRecord[] | undefined;
  const input = { data: Buffer.from(data).toString('base64'), partitionKey: 'outer', sequenceNumber };
  awsAgg.deaggregateSync(input, true, (error, userRecords) => {
    if (error) throw error;
    result = userRecords;
  });
  assert.ok(result !== undefined, 'deaggregateSync is synchronous');
  return result;
}

function awsAggregate(records: AggregateInput[]): Promise<AwsEncodedRecord[]> {
  return new Promise((resolve, reject) => {
    const encoded: AwsEncodedRecord[] = [];
    const input = records.map((r) => ({ ...r, data: Buffer.from(r.data) }));
    awsAgg.aggregate(
      input,
      (record, done) => {
        encoded.push(record);
        done();
      },
      () => resolve(encoded),
      reject,
    );
  });
}

const inputRecords = fc.array(
  fc.record(
    {
      partitionKey: fc.oneof(
        fc.constantFrom('a', 'b', 'shared-key'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 256 }),
      ),
      data: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 400 })),
      explicitHashKey: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(String),
    },
    { requiredKeys: ['partitionKey', 'data'] },
  ),
  { minLength: 1, maxLength: 30 },
);

/** An ECMAScript array index: such object keys are enumerated before others, in numeric order. */
const isArrayIndex = (key: string): boolean => /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1;

const base64 = (data: Uint8Array): string => Buffer.from(data).toString('base64');

describe('oracle: aws-kinesis-agg', () => {
  it('unpacks what aggregate() packs, identically', () => {
    fc.assert(
      fc.property(inputRecords, fc.integer({ min: 1200, max: 20000 }), (records, maxBytes) => {
        const outputs = aggregate(records, { maxBytes });
        let next = 0;
        outputs.forEach((output, o) => {
          const theirs = awsDeaggregate(output.data, String(o));
          const ours = deaggregate({ data: output.data, partitionKey: output.partitionKey, sequenceNumber: String(o) });
          assert.equal(theirs.length, ours.length);
          // aws-kinesis-agg reports explicit_hash_key_table[0] for a record without an explicit hash key
          // index (protobufjs defaults the absent uint64 to 0): compare with that quirk in mind.
          const tableFirst = ours.find((r) => r.explicitHashKey !== undefined)?.explicitHashKey;
          theirs.forEach((their, i) => {
            const input = records[next++]!;
            const our = ours[i]!;
            assert.equal(their.partitionKey, input.partitionKey);
            assert.equal(our.partitionKey, input.partitionKey);
            assert.equal(their.subSequenceNumber, i);
            assert.equal(our.subSequenceNumber, i);
            assert.equal(their.sequenceNumber, our.sequenceNumber);
            assert.equal(their.data, base64(input.data));
            assert.equal(base64(our.data), base64(input.data));
            assert.equal(our.explicitHashKey, input.explicitHashKey);
            assert.equal(their.explicitPartitionKey, input.explicitHashKey ?? tableFirst);
          });
        });
        assert.equal(next, records.length, 'every record came back');
      }),
      { numRuns: 150 },
    );
  });

  it('unpacks what aws-kinesis-agg packs, identically', async () => {
    await fc.assert(
      fc.asyncProperty(inputRecords, async (records) => {
        // aws-kinesis-agg also keys its tables by plain objects, so a key named like an
        // Object.prototype member ("__proto__", "constructor") corrupts its output: not ours to test.
        fc.pre(!records.some((r) => r.partitionKey in Object.prototype || (r.explicitHashKey ?? '') in Object.prototype));
        const encoded = await awsAggregate(records);
        const unpacked = encoded.flatMap((record, o) => {
          const ours = deaggregate({ data: record.data, partitionKey: record.partitionKey, sequenceNumber: String(o) });
          const theirs = awsDeaggregate(record.data, String(o));
          // Where we see no explicit hash key, aws-kinesis-agg reports a table entry (see above).
          assert.deepEqual(
            ours.map((r, i) => [r.partitionKey, r.explicitHashKey ?? theirs[i]?.explicitPartitionKey, base64(r.data), r.subSequenceNumber, r.aggregated]),
            theirs.map((r) => [r.partitionKey, r.explicitPartitionKey, r.data, r.subSequenceNumber, true]),
          );
          return ours.map((r) => ({ partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: base64(r.data) }));
        });
        const expected = records.map((r) => ({ partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: base64(r.data) }));
        assert.deepEqual(unpacked.map((r) => r.data), expected.map((r) => r.data));
        // aws-kinesis-agg builds its key tables with Object.keys(), which lists array-index-like
        // keys ("0", "17") first in numeric order, so its indices are wrong once such a key is
        // seen out of numeric order. Where it cannot hit that bug, keys must match the input too.
        if (!records.some((r) => isArrayIndex(r.partitionKey) || (r.explicitHashKey !== undefined && isArrayIndex(r.explicitHashKey)))) {
          assert.deepEqual(unpacked, expected);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keys named like Object.prototype members round-trip through aggregate() and both unpackers', () => {
    const records = ['__proto__', 'constructor', 'toString', 'a'].map((partitionKey, i) => ({ partitionKey, data: Uint8Array.of(i) }));
    const [packed] = aggregate(records);
    const ours = deaggregate({ data: packed!.data, partitionKey: packed!.partitionKey, sequenceNumber: '1' });
    const theirs = awsDeaggregate(packed!.data, '1');
    assert.deepEqual(ours.map((r) => r.partitionKey), records.map((r) => r.partitionKey));
    assert.deepEqual(theirs.map((r) => r.partitionKey), records.map((r) => r.partitionKey));
  });
});
