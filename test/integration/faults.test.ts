import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import type { Scheduler } from '../../src/index.ts';
import type { MetricDatum } from '../../src/metrics/metrics-sink.ts';

const GET_RECORDS = 'Kinesis_20131202.GetRecords';
const GET_ITERATOR = 'Kinesis_20131202.GetShardIterator';

for (const kind of ['kinesis-local', 'kinesalite'] as const) {
  describe(`retrieval recovers from Kinesis faults (${kind})`, () => {
    let env: TestEnv;
    let proxy: FaultProxy;
    let endpoint: string;
    before(async () => {
      env = await startEnv(kind);
      proxy = new FaultProxy(env.servers.kinesis.endpoint);
      endpoint = await proxy.start();
    });
    after(async () => {
      await proxy?.stop();
      await env?.close();
    });

    interface Run {
      recorder: Recorder;
      put: string[];
      errors: Error[];
      metrics: MetricDatum[];
    }
    interface RunOptions {
      kinesisRequestTimeoutMs?: number;
      /** Runs beside the scheduler (e.g. ends a fault after a while); awaited before the second puts. */
      during?: (scheduler: Scheduler) => Promise<void>;
    }
    const run = async (inject: () => void, options: RunOptions = {}): Promise<Run> => {
      const stream = uniqueName('faults');
      await createStream(env.kinesis, stream, 1);
      const first = await putRecords(env.kinesis, stream, makeRecords(50, 'a'));
      inject();
      const recorder = new Recorder();
      const metrics: MetricDatum[] = [];
      const timeout = options.kinesisRequestTimeoutMs === undefined ? {} : { kinesisRequestTimeoutMs: options.kinesisRequestTimeoutMs };
      const scheduler = testScheduler(env, {
        applicationName: uniqueName('app'),
        streamName: stream,
        retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200, maxRecords: 10, ...timeout },
        metrics: { bufferTimeMs: 50, sinks: [{ record: (d) => void metrics.push(d) }] },
        clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, kinesis: endpoint } },
        processorFactory: recordingFactory(recorder),
      });
      const errors: Error[] = [];
      scheduler.on('error', (err) => errors.push(err));
      const running = start(scheduler);
      await options.during?.(scheduler);
      await waitFor(() => recorder.deliveries.length >= 50, 'the first 50 records', 60000);
      const second = await putRecords(env.kinesis, stream, makeRecords(20, 'b'));
      await waitFor(() => recorder.deliveries.length >= 70, 'all 70 records', 60000);
      await scheduler.shutdown();
      await running;
      return { recorder, put: [...first, ...second].map((p) => p.data), errors, metrics };
    };

    it('reopens an expired iterator after the last record fetched: nothing lost, nothing twice', async () => {
      const iteratorsBefore = proxy.count(GET_ITERATOR);
      const { recorder, put } = await run(() =>
        proxy.inject(GET_RECORDS, { status: 400, type: 'ExpiredIteratorException', message: 'Iterator expired' }, { skip: 2, times: 1 }),
      );
      assert.deepEqual(recorder.deliveries.map((d) => d.data), put, 'every record once, in order');
      assert.ok(proxy.count(GET_ITERATOR) - iteratorsBefore >= 2, 'a new iterator was requested');
      assert.ok(proxy.faulted(GET_RECORDS) >= 1);
    });

    it('backs off and carries on when GetRecords is throttled', async () => {
      const faultedBefore = proxy.faulted(GET_RECORDS);
      const { recorder, put } = await run(() =>
        proxy.inject(GET_RECORDS, { status: 400, type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded' }, { skip: 1, times: 6 }),
      );
      assert.deepEqual(recorder.deliveries.map((d) => d.data), put);
      assert.equal(proxy.faulted(GET_RECORDS) - faultedBefore, 6, 'every injected throttle was hit and survived');
    });

    it('survives dropped connections and 5xx answers', async () => {
      const { recorder, put } = await run(() => {
        proxy.inject(GET_RECORDS, 'destroy', { skip: 1, times: 2 });
        proxy.inject(GET_RECORDS, { status: 503, type: 'ServiceUnavailable' }, { times: 2 });
      });
      assert.deepEqual(recorder.deliveries.map((d) => d.data), put);
    });

    it('carries on after more connection resets in a row than the SDK retries: logged, counted, retried', async () => {
      const faultedBefore = proxy.faulted(GET_RECORDS);
      // The SDK makes 3 attempts per call: 7 resets in a row fail the loop's call at least twice.
      const { recorder, put, errors, metrics } = await run(() => proxy.inject(GET_RECORDS, 'destroy', { skip: 1, times: 7 }));
      assert.deepEqual(recorder.deliveries.map((d) => d.data), put, 'every record once, in order');
      assert.equal(proxy.faulted(GET_RECORDS) - faultedBefore, 7);
      assert.ok(errors.length >= 1 && errors.every((e) => (e as Error & { shardId?: string }).shardId === 'shardId-000000000000'), 'reported on the error event');
      const failures = metrics.filter((d) => d.name === 'KinesisDataFetcher.getRecords.Success' && d.min === 0);
      assert.ok(failures.length >= 1, 'the failed GetRecords are counted (Success = 0)');
    });

    it('a GetRecords that is never answered times out and is retried: nothing lost, nothing twice', async () => {
      const faultedBefore = proxy.faulted(GET_RECORDS);
      const { recorder, put } = await run(() => proxy.inject(GET_RECORDS, 'hang', { skip: 2, times: 2 }), { kinesisRequestTimeoutMs: 1000 });
      assert.deepEqual(recorder.deliveries.map((d) => d.data), put, 'every record once, in order');
      assert.equal(proxy.faulted(GET_RECORDS) - faultedBefore, 2, 'both hangs were hit');
    });

    it('backs off on a persistent InvalidArgumentException: a handful of calls, one error event, then everything once', async (t) => {
      const iteratorsBefore = proxy.count(GET_ITERATOR);
      let duringFault = 0;
      const { recorder, put, errors } = await run(
        () => proxy.inject(GET_ITERATOR, { status: 400, type: 'InvalidArgumentException', message: 'Invalid StartingSequenceNumber' }, { times: 1_000_000 }),
        {
          during: async () => {
            await waitFor(() => proxy.count(GET_ITERATOR) > iteratorsBefore, 'the first GetShardIterator', 30000);
            // The fault lasts 3 s (a scenario's length, not a synchronisation).
            await new Promise((r) => setTimeout(r, 3000));
            proxy.clear(GET_ITERATOR);
            duringFault = proxy.count(GET_ITERATOR) - iteratorsBefore;
          },
        },
      );
      t.diagnostic(`GetShardIterator calls during the 3 s fault: ${duringFault}; error events: ${errors.length}`);
      assert.ok(duringFault >= 2 && duringFault <= 10, `a handful of GetShardIterator calls in 3 s, not hundreds (${duringFault})`);
      assert.ok(errors.length >= 1 && errors.length <= 2, `reported once per streak (${errors.length})`);
      assert.equal(errors[0]!.name, 'InvalidArgumentException');
      assert.deepEqual(recorder.deliveries.map((d) => d.data), put, 'every record once, in order');
    });
  });
}
