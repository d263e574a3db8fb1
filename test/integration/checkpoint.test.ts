import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { IllegalArgumentError, ShutdownException, KclError, type RecordProcessorCheckpointer, type ShardRecordProcessor, type InitializationInput } from '../../src/index.ts';

const quiet = (overrides: Partial<ShardRecordProcessor>): ShardRecordProcessor => ({
  initialize: () => {},
  processRecords: () => {},
  leaseLost: () => {},
  shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
  shutdownRequested: () => {},
  ...overrides,
});

describe('checkpointing through the scheduler (kinesalite + dynalite)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  it('rejects checkpoint arguments that are not sequence numbers or fall outside what was delivered', async () => {
    const stream = uniqueName('badcp');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    const put = await putRecords(env.kinesis, stream, makeRecords(10, 'c'));
    const outcomes: Record<string, unknown> = {};
    const attempt = async (name: string, call: () => Promise<unknown>): Promise<void> => {
      try {
        await call();
        outcomes[name] = 'ok';
      } catch (err) {
        outcomes[name] = err;
      }
    };
    let done = false;
    const scheduler = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      processorFactory: () =>
        quiet({
          processRecords: async ({ records, checkpointer }) => {
            if (done || records.length === 0) return;
            const first = records[0]!;
            const last = records.at(-1)!;
            await attempt('not a number', () => checkpointer.checkpoint('abc'));
            await attempt('negative sub-sequence', () => checkpointer.checkpoint(last.sequenceNumber, -1));
            await attempt('beyond delivered', () => checkpointer.checkpoint(last.sequenceNumber + '0'));
            await attempt('the middle', () => checkpointer.checkpoint(records[4]!));
            await attempt('below last checkpoint', () => checkpointer.checkpoint(first.sequenceNumber));
            await attempt('prepare beyond', () => checkpointer.prepareCheckpoint(last.sequenceNumber + '0'));
            await attempt('last', () => checkpointer.checkpoint());
            done = true;
          },
        }),
    });
    const running = start(scheduler);
    await waitFor(() => done, 'the processor to try every checkpoint');
    await scheduler.shutdown();
    await running;
    for (const name of ['not a number', 'negative sub-sequence', 'beyond delivered', 'below last checkpoint', 'prepare beyond']) {
      assert.ok(outcomes[name] instanceof IllegalArgumentError, `${name}: ${String(outcomes[name])}`);
      assert.ok(outcomes[name] instanceof KclError);
    }
    assert.equal(outcomes['the middle'], 'ok');
    assert.equal(outcomes['last'], 'ok');
    const item = await env.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: put[0]!.shardId } } }));
    assert.equal(item.Item?.checkpoint?.S, put.at(-1)!.sequenceNumber);
  });

  it('prepareCheckpoint stores a pending checkpoint that the next owner sees in initialize, and commits on checkpoint()', async () => {
    const stream = uniqueName('prep');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    const put = await putRecords(env.kinesis, stream, makeRecords(5, 'p'));
    let prepared = false;
    const first = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      processorFactory: () =>
        quiet({
          processRecords: async ({ records, checkpointer }) => {
            if (records.length === 0 || prepared) return;
            const p = await checkpointer.prepareCheckpoint(records[2]!);
            assert.equal(p.pendingCheckpoint().sequenceNumber, records[2]!.sequenceNumber);
            prepared = true;
          },
        }),
    });
    const running = start(first);
    await waitFor(() => prepared, 'the prepared checkpoint');
    await first.shutdown();
    await running;
    const item = (await env.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: put[0]!.shardId } } }))).Item!;
    assert.equal(item.pendingCheckpoint?.S, put[2]!.sequenceNumber);
    assert.equal(item.pendingCheckpointSubSequenceNumber?.N, '0');
    assert.equal(item.checkpoint?.S, 'TRIM_HORIZON', 'the checkpoint itself is untouched');

    let init: InitializationInput | undefined;
    let committed = false;
    const second = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      processorFactory: () =>
        quiet({
          initialize: (input) => void (init = input),
          processRecords: async ({ records, checkpointer }) => {
            if (records.length === 0 || committed) return;
            const p = await checkpointer.prepareCheckpoint(records[3]!);
            await p.checkpoint();
            committed = true;
          },
        }),
    });
    const running2 = start(second);
    await waitFor(() => committed, 'the committed checkpoint');
    await second.shutdown();
    await running2;
    assert.equal(init?.pendingCheckpointSequenceNumber?.sequenceNumber, put[2]!.sequenceNumber);
    const after = (await env.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: put[0]!.shardId } } }))).Item!;
    assert.equal(after.checkpoint?.S, put[3]!.sequenceNumber);
    assert.equal(after.pendingCheckpoint, undefined, 'a checkpoint clears the pending one');
  });

  it('after the lease is lost: leaseLost, no more records, and a retained checkpointer throws ShutdownException', async () => {
    const stream = uniqueName('lost');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    const put = await putRecords(env.kinesis, stream, makeRecords(5, 'x'));
    let kept: RecordProcessorCheckpointer | undefined;
    let lostAt = -1;
    let batchesAfterLoss = 0;
    const scheduler = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      lease: { failoverTimeMs: 600, takerIntervalMs: 60000 },
      processorFactory: () =>
        quiet({
          processRecords: ({ checkpointer }) => {
            kept = checkpointer;
            if (lostAt >= 0) batchesAfterLoss++;
          },
          leaseLost: () => void (lostAt = Date.now()),
        }),
    });
    const lostEvents: string[] = [];
    scheduler.on('leaseLost', (id) => lostEvents.push(id));
    const running = start(scheduler);
    await waitFor(() => kept, 'a first batch');
    // Another worker takes the lease: owner switched and counter bumped, as its LeaseTaker would.
    await env.dynamodb.send(
      new UpdateItemCommand({
        TableName: app,
        Key: { leaseKey: { S: put[0]!.shardId } },
        UpdateExpression: 'SET leaseOwner = :o, leaseCounter = leaseCounter + :one',
        ExpressionAttributeValues: { ':o': { S: 'thief' }, ':one': { N: '1' } },
      }),
    );
    await waitFor(() => lostAt >= 0, 'leaseLost');
    await putRecords(env.kinesis, stream, makeRecords(5, 'y'));
    await new Promise((r) => setTimeout(r, 600)); // give a (wrong) fetch loop time to deliver more
    await assert.rejects(kept!.checkpoint(), ShutdownException);
    assert.equal(batchesAfterLoss, 0, 'fetching stopped with the lease');
    assert.deepEqual(lostEvents, [put[0]!.shardId]);
    await scheduler.shutdown();
    await running;
    const item = (await env.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: put[0]!.shardId } } }))).Item!;
    assert.equal(item.leaseOwner?.S, 'thief');
  });
});
