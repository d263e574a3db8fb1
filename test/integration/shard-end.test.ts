import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, splitShard, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import type { Scheduler, ShardRecordProcessor } from '../../src/index.ts';

describe('shard end (kinesalite)', () => {
  let env: TestEnv;
  const schedulers: Scheduler[] = [];
  before(async () => (env = await startEnv('kinesalite')));
  // A failed wait must not leave a worker running: the file would hang until the test timeout.
  after(async () => {
    await Promise.all(schedulers.map((s) => s.shutdown()));
    await env?.close();
  });
  const scheduler = (config: Parameters<typeof testScheduler>[1]): Scheduler => {
    const s = testScheduler(env, config);
    schedulers.push(s);
    return s;
  };

  it('a processor that does not checkpoint in shardEnded is asked again, logged, and its children wait', async () => {
    const stream = uniqueName('noend');
    await createStream(env.kinesis, stream, 1);
    await putRecords(env.kinesis, stream, makeRecords(5, 'parent'));
    const children = await splitShard(env.kinesis, stream, 'shardId-000000000000');
    await putRecords(env.kinesis, stream, makeRecords(5, 'child'));
    const calls: string[] = [];
    let shardEndedCalls = 0;
    const errors: string[] = [];
    const worker = scheduler({
      applicationName: uniqueName('app'),
      streamName: stream,
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: (o: object | string, m?: string) => void errors.push(m ?? (typeof o === 'string' ? o : JSON.stringify(o))) },
      processorFactory: ({ shardId }): ShardRecordProcessor => ({
        initialize: () => void calls.push(`init ${shardId}`),
        processRecords: ({ records }) => void (records.length && calls.push(`records ${shardId}`)),
        leaseLost: () => {},
        shardEnded: async ({ checkpointer }) => {
          calls.push(`shardEnded ${shardId}`);
          if (shardId === 'shardId-000000000000' && ++shardEndedCalls < 3) return; // forgets to checkpoint twice
          await checkpointer.checkpoint();
        },
        shutdownRequested: () => {},
      }),
    });
    const running = start(worker);
    await waitFor(() => children.every((c) => calls.includes(`records ${c}`)), 'the children processed after the parent finally ended', 30000);
    await worker.shutdown();
    await running;
    assert.equal(shardEndedCalls, 3, 'shardEnded was retried until the processor checkpointed');
    assert.ok(errors.some((m) => m.includes("didn't checkpoint at end of shard")));
    const thirdEnd = calls.lastIndexOf('shardEnded shardId-000000000000');
    for (const c of children) assert.ok(calls.indexOf(`init ${c}`) > thirdEnd, `${c} started only after its parent reached SHARD_END`);
  });

  it('ResourceNotFound on a shard is treated as its end, not a crash loop', async () => {
    const proxy = new FaultProxy(env.servers.kinesis.endpoint);
    const endpoint = await proxy.start();
    try {
      const stream = uniqueName('gone');
      await createStream(env.kinesis, stream, 1);
      await putRecords(env.kinesis, stream, makeRecords(3, 'g'));
      proxy.inject('Kinesis_20131202.GetRecords', { status: 400, type: 'ResourceNotFoundException', message: 'Shard not found' }, { times: 1 });
      const ended: string[] = [];
      const worker = scheduler({
        applicationName: uniqueName('app'),
        streamName: stream,
        clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, kinesis: endpoint } },
        processorFactory: (): ShardRecordProcessor => ({
          initialize: () => {},
          processRecords: () => {},
          leaseLost: () => {},
          shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
          shutdownRequested: () => {},
        }),
      });
      worker.on('shardEnded', (id) => ended.push(id));
      const running = start(worker);
      await waitFor(() => ended.length === 1, 'the shard treated as ended');
      const calls = proxy.count('Kinesis_20131202.GetRecords');
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(proxy.count('Kinesis_20131202.GetRecords'), calls, 'no more reads of a shard that is gone');
      await worker.shutdown();
      await running;
    } finally {
      await proxy.stop();
    }
  });
});
