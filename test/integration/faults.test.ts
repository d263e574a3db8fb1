import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { FaultProxy } from '../support/fault-proxy.ts';

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

    const run = async (inject: () => void): Promise<{ recorder: Recorder; put: string[] }> => {
      const stream = uniqueName('faults');
      await createStream(env.kinesis, stream, 1);
      const first = await putRecords(env.kinesis, stream, makeRecords(50, 'a'));
      inject();
      const recorder = new Recorder();
      const scheduler = testScheduler(env, {
        applicationName: uniqueName('app'),
        streamName: stream,
        retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200, maxRecords: 10 },
        clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, kinesis: endpoint } },
        processorFactory: recordingFactory(recorder),
      });
      const running = start(scheduler);
      await waitFor(() => recorder.deliveries.length >= 50, 'the first 50 records', 60000);
      const second = await putRecords(env.kinesis, stream, makeRecords(20, 'b'));
      await waitFor(() => recorder.deliveries.length >= 70, 'all 70 records', 60000);
      await scheduler.shutdown();
      await running;
      return { recorder, put: [...first, ...second].map((p) => p.data) };
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
  });
}
