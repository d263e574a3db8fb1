import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, waitFor, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { FaultProxy } from '../support/fault-proxy.ts';

const UPDATE_ITEM = 'DynamoDB_20120810.UpdateItem';

describe('a lease that expires locally stops its shard at once (kinesalite)', () => {
  let env: TestEnv;
  let proxy: FaultProxy;
  let dynamodb: string;
  before(async () => {
    env = await startEnv('kinesalite');
    proxy = new FaultProxy(env.servers.dynamodb.endpoint);
    dynamodb = await proxy.start();
  });
  after(async () => {
    await proxy?.stop();
    await env?.close();
  });

  it('the old holder delivers nothing once the new holder could have the shard', async () => {
    const stream = uniqueName('expiry');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    const seen = { a: new Recorder(), b: new Recorder() };
    const times = { a: [] as number[], b: [] as number[] };
    // No checkpoints: a's processor keeps going, only its renewals are starved.
    const factory = (who: 'a' | 'b') => recordingFactory(seen[who], { checkpointEachBatch: false, checkpointOnShutdown: false, onRecords: () => void times[who].push(performance.now()) });
    const a = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      workerId: 'a',
      clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, dynamodb } },
      processorFactory: factory('a'),
    });
    const runningA = start(a);
    let produced = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        await putRecords(env.kinesis, stream, [{ partitionKey: 'k', data: `r-${produced++}` }]);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await waitFor(() => seen.a.deliveries.length > 5, 'worker a delivering');
    const b = testScheduler(env, { applicationName: app, streamName: stream, workerId: 'b', lease: { takerIntervalMs: 100 }, processorFactory: factory('b') });
    const runningB = start(b);
    // a's renewals now fail at once (no SDK retry): its lease runs out while it still reads records, and its
    // next renewal round (up to failover/3 later) is not what may stop it.
    proxy.inject(UPDATE_ITEM, { status: 400, type: 'AccessDeniedException', message: 'not authorized' }, { times: 100000 });
    try {
      await waitFor(() => times.b.length >= 8, 'worker b taking over and delivering for a while', 30000);
      const lastA = Math.max(...times.a);
      const firstB = Math.min(...times.b);
      assert.ok(lastA < firstB, `a delivered ${(lastA - firstB).toFixed(0)} ms after b started on the same shard`);
    } finally {
      producing = false;
      await producer;
      await Promise.all([a.shutdown(), b.shutdown()]);
      await Promise.all([runningA, runningB]);
    }
  });
});
