import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { startEnv, uniqueName, createStream, waitFor, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { aggregate, type KinesisClientRecord, type ShardRecordProcessor, type InitializationInput } from '../../src/index.ts';

describe('KPL aggregated records through the consumer (kinesalite)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  it('delivers user records, checkpoints mid-aggregate, and resumes at the next user record after a restart', async () => {
    const stream = uniqueName('kpl');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    // Three aggregates of ten user records each, put as three Kinesis records.
    for (let a = 0; a < 3; a++) {
      const [packed] = aggregate(Array.from({ length: 10 }, (_, i) => ({ partitionKey: `user-${i}`, data: Buffer.from(`agg${a}-rec${i}`) })));
      await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: packed!.partitionKey, Data: packed!.data }] }));
    }
    const quiet = (processRecords: ShardRecordProcessor['processRecords'], initialize: ShardRecordProcessor['initialize'] = () => {}): ShardRecordProcessor => ({
      initialize,
      processRecords,
      leaseLost: () => {},
      shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: () => {},
    });

    const first: KinesisClientRecord[] = [];
    let checkpointed = false;
    const w1 = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      processorFactory: () =>
        quiet(async ({ records, checkpointer }) => {
          first.push(...records);
          if (first.length >= 30 && !checkpointed) {
            await checkpointer.checkpoint(first[14]!); // aggregate 1, user record 4
            checkpointed = true;
          }
        }),
    });
    const r1 = start(w1);
    await waitFor(() => checkpointed, 'the mid-aggregate checkpoint');
    await w1.startGracefulShutdown();
    await r1;

    assert.deepEqual(first.map((r) => Buffer.from(r.data).toString()), [0, 1, 2].flatMap((a) => Array.from({ length: 10 }, (_, i) => `agg${a}-rec${i}`)));
    assert.ok(first.every((r) => r.aggregated));
    assert.deepEqual(first.slice(10, 20).map((r) => r.subSequenceNumber), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(new Set(first.slice(10, 20).map((r) => r.sequenceNumber)).size, 1, 'user records share the container sequence number');
    assert.equal(first[3]!.partitionKey, 'user-3');
    const item = (await env.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: 'shardId-000000000000' } } }))).Item!;
    assert.equal(item.checkpoint?.S, first[14]!.sequenceNumber);
    assert.equal(item.checkpointSubSequenceNumber?.N, '4', 'the sub-sequence number is stored');

    const second: KinesisClientRecord[] = [];
    let init: InitializationInput | undefined;
    const w2 = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      processorFactory: () =>
        quiet(
          async ({ records, checkpointer }) => {
            second.push(...records);
            const last = records.at(-1);
            if (last) await checkpointer.checkpoint(last.sequenceNumber, last.subSequenceNumber);
          },
          (input) => void (init = input),
        ),
    });
    const r2 = start(w2);
    await waitFor(() => second.length >= 15, 'the rest of the aggregates');
    await w2.startGracefulShutdown();
    await r2;
    assert.deepEqual(init?.extendedSequenceNumber, { sequenceNumber: first[14]!.sequenceNumber, subSequenceNumber: 4 });
    assert.deepEqual(
      second.map((r) => Buffer.from(r.data).toString()),
      [...Array.from({ length: 5 }, (_, i) => `agg1-rec${i + 5}`), ...Array.from({ length: 10 }, (_, i) => `agg2-rec${i}`)],
      'resumed at the next user record',
    );
    const after = (await env.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: 'shardId-000000000000' } } }))).Item!;
    assert.equal(after.checkpointSubSequenceNumber?.N, '9');
  });

  it('a malformed aggregate reaches the processor as raw bytes', async () => {
    const stream = uniqueName('bad');
    await createStream(env.kinesis, stream, 1);
    const [packed] = aggregate([{ partitionKey: 'a', data: Buffer.from('hello') }]);
    const corrupt = Buffer.from(packed!.data);
    corrupt[corrupt.length - 1]! ^= 0xff; // MD5 mismatch
    await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: 'a', Data: corrupt }] }));
    const got: KinesisClientRecord[] = [];
    const w = testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: stream,
      processorFactory: () => ({ initialize: () => {}, processRecords: ({ records }) => void got.push(...records), leaseLost: () => {}, shardEnded: () => {}, shutdownRequested: () => {} }),
    });
    const running = start(w);
    await waitFor(() => got.length >= 1, 'the raw record');
    await w.shutdown();
    await running;
    assert.equal(got.length, 1);
    assert.equal(got[0]!.aggregated, false);
    assert.deepEqual(Buffer.from(got[0]!.data), corrupt);
  });
});
