import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ScanCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { compareExtended, type Scheduler } from '../../src/index.ts';
import { isLeaseItem } from '../../src/leases/dynamodb/lease-serializer.ts';

const bySeq = (a: string, b: string): number => compareExtended({ sequenceNumber: a, subSequenceNumber: 0 }, { sequenceNumber: b, subSequenceNumber: 0 });

for (const kind of ['kinesis-local', 'kinesalite'] as const) {
  describe(`one worker consumes a stream end to end (${kind})`, () => {
    let env: TestEnv;
    before(async () => (env = await startEnv(kind)));
    after(async () => env?.close());

    it('processes every record of a 4-shard stream in per-shard order, checkpoints, and redelivers nothing after a restart', async () => {
      const stream = uniqueName('four');
      const app = uniqueName('app');
      await createStream(env.kinesis, stream, 4);
      const put = await putRecords(env.kinesis, stream, makeRecords(400, 'first', 40));
      const recorder = new Recorder();
      const scheduler = testScheduler(env, { applicationName: app, streamName: stream, processorFactory: recordingFactory(recorder) });
      const running = start(scheduler);
      await waitFor(() => recorder.deliveries.length >= 400, 'all 400 records');

      // Per shard: exactly the records put there, in the order they were put.
      for (const shardId of new Set(put.map((p) => p.shardId))) {
        const expected = put.filter((p) => p.shardId === shardId).map((p) => p.data);
        assert.deepEqual(recorder.byShard(shardId).map((d) => d.data), expected, `order on ${shardId}`);
      }
      assert.equal(await scheduler.startGracefulShutdown(), true);
      await running;

      // The lease items, attribute for attribute and type for type, as the Java KCL writes them.
      const items = ((await env.dynamodb.send(new ScanCommand({ TableName: app }))).Items ?? []).filter(isLeaseItem); // not the 3.x migration/metrics items
      assert.equal(items.length, 4);
      for (const item of items) {
        const shardId = item.leaseKey!.S!;
        const lastPut = put.filter((p) => p.shardId === shardId).map((p) => p.sequenceNumber).sort(bySeq).at(-1)!;
        assert.equal(item.checkpoint?.S, lastPut, `checkpoint of ${shardId} is the last delivered sequence number`);
        assert.deepEqual(Object.keys(item).sort(), ['checkpoint', 'checkpointSubSequenceNumber', 'endingHashKey', 'leaseCounter', 'leaseKey', 'ownerSwitchesSinceCheckpoint', 'startingHashKey']);
        assert.equal(item.checkpointSubSequenceNumber?.N, '0');
        assert.ok(item.leaseCounter?.N && Number(item.leaseCounter.N) > 0);
        assert.equal(item.ownerSwitchesSinceCheckpoint?.N, '0');
        assert.match(item.startingHashKey?.S ?? '', /^\d+$/);
        assert.match(item.endingHashKey?.S ?? '', /^\d+$/);
        assert.equal(item.leaseOwner, undefined, 'a graceful shutdown releases the lease');
      }
      assert.ok(recorder.calls.some((c) => c.method === 'shutdownRequested'));

      // Restart: only records put since are delivered.
      await putRecords(env.kinesis, stream, makeRecords(100, 'second', 10));
      const again = new Recorder();
      const second = testScheduler(env, { applicationName: app, streamName: stream, processorFactory: recordingFactory(again) });
      const running2 = start(second);
      await waitFor(() => again.deliveries.length >= 100, 'the 100 new records');
      await second.startGracefulShutdown();
      await running2;
      assert.equal(again.deliveries.length, 100, 'nothing checkpointed was redelivered');
      assert.ok(again.deliveries.every((d) => d.data.startsWith('second-')));
      assert.ok(again.calls.filter((c) => c.method === 'initialize').every((c) => /^\d+$/.test(c.at!.sequenceNumber)), 'initialize gets the stored checkpoint');
    });

    it('starts at LATEST by default: records put before the lease existed are skipped', async () => {
      const stream = uniqueName('latest');
      await createStream(env.kinesis, stream, 1);
      await putRecords(env.kinesis, stream, makeRecords(20, 'old'));
      const recorder = new Recorder();
      let polled = false;
      const scheduler = testScheduler(env, {
        applicationName: uniqueName('app'),
        streamName: stream,
        initialPosition: 'LATEST',
        processor: { callProcessRecordsEvenForEmptyRecordList: true },
        processorFactory: recordingFactory(recorder, { onRecords: () => void (polled = true) }),
      });
      const running = start(scheduler);
      await waitFor(() => polled, 'the first (empty) GetRecords at LATEST');
      await putRecords(env.kinesis, stream, makeRecords(20, 'new'));
      await waitFor(() => recorder.deliveries.length >= 20, 'the new records');
      await scheduler.shutdown();
      await running;
      assert.deepEqual([...recorder.dataSet()].sort(), makeRecords(20, 'new').map((r) => r.data).sort());
    });

    it('at LATEST, a record put once initialize() has returned is delivered (the iterator is taken first, as in Java)', async () => {
      const stream = uniqueName('latest-init');
      await createStream(env.kinesis, stream, 1);
      await putRecords(env.kinesis, stream, makeRecords(5, 'before'));
      const recorder = new Recorder();
      const record = recordingFactory(recorder);
      let initialized!: () => void;
      const initializedPromise = new Promise<void>((resolve) => (initialized = resolve));
      const scheduler = testScheduler(env, {
        applicationName: uniqueName('app'),
        streamName: stream,
        initialPosition: 'LATEST',
        processorFactory: (shard) => {
          const p = record(shard);
          return { ...p, initialize: (input) => (p.initialize(input), initialized()) };
        },
      });
      const running = start(scheduler);
      await initializedPromise;
      await putRecords(env.kinesis, stream, makeRecords(3, 'after-init'));
      await waitFor(() => recorder.deliveries.length >= 3, 'the records put after initialize()', 15000);
      await scheduler.shutdown();
      await running;
      assert.deepEqual(recorder.deliveries.map((d) => d.data), makeRecords(3, 'after-init').map((r) => r.data));
    });

    it('starts AT_TIMESTAMP: only records that arrived after the timestamp', async () => {
      const stream = uniqueName('ts');
      await createStream(env.kinesis, stream, 2);
      await putRecords(env.kinesis, stream, makeRecords(20, 'before'));
      await new Promise((r) => setTimeout(r, 1100)); // arrival timestamps have second precision on some servers
      const timestamp = new Date();
      await new Promise((r) => setTimeout(r, 1100));
      await putRecords(env.kinesis, stream, makeRecords(20, 'after'));
      const recorder = new Recorder();
      const scheduler = testScheduler(env, { applicationName: uniqueName('app'), streamName: stream, initialPosition: { timestamp }, processorFactory: recordingFactory(recorder) });
      const running = start(scheduler);
      await waitFor(() => recorder.deliveries.length >= 20, 'the records after the timestamp');
      await scheduler.shutdown();
      await running;
      assert.deepEqual([...recorder.dataSet()].sort(), makeRecords(20, 'after').map((r) => r.data).sort());
    });

    it('reads from TRIM_HORIZON when asked', async () => {
      const stream = uniqueName('trim');
      await createStream(env.kinesis, stream, 1);
      await putRecords(env.kinesis, stream, makeRecords(30, 'x'));
      const recorder = new Recorder();
      const scheduler = testScheduler(env, { applicationName: uniqueName('app'), streamName: stream, initialPosition: 'TRIM_HORIZON', processorFactory: recordingFactory(recorder) });
      const running = start(scheduler);
      await waitFor(() => recorder.deliveries.length >= 30, 'all records from the start');
      await scheduler.shutdown();
      await running;
      assert.deepEqual(recorder.deliveries.map((d) => d.data), makeRecords(30, 'x').map((r) => r.data));
    });
  });
}

export type { Scheduler };
void GetItemCommand;
