import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startEnv, uniqueName, createStream, putRecords, waitFor, splitShard, credentials, region, type TestEnv } from '../support/env.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { ShardDetector, type ShardInfo } from '../../src/retrieval/shard-detector.ts';
import { ShardSyncManager } from '../../src/coordinator/shard-sync-manager.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { TRIM_HORIZON, esn } from '../../src/retrieval/extended-sequence-number.ts';
import type { Lease } from '../../src/leases/lease.ts';

const P = 'shardId-000000000000';

/** A shard detector whose next listing runs a hook before it is returned: a split lands between ListShards and the Scan. */
class HookedDetector extends ShardDetector {
  hook: (() => Promise<void>) | undefined;
  override async listShards(signal?: AbortSignal): Promise<ShardInfo[]> {
    const shards = await super.listShards(signal);
    const hook = this.hook;
    this.hook = undefined;
    await hook?.();
    return shards;
  }
}

const unowned = (leaseKey: string, checkpoint = esn('49590000000000000000000000000000000000000000000000000001')): Lease => ({
  leaseKey,
  leaseCounter: 0,
  checkpoint,
  ownerSwitchesSinceCheckpoint: 0,
  parentShardIds: [],
  childShardIds: [],
});

/** Watches the lease table; every key that was present and later vanished is remembered with the reason-free fact. */
function watchDeletions(refresher: DynamoDBLeaseRefresher): { stop(): Promise<void>; deleted: Set<string> } {
  const deleted = new Set<string>();
  let last = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const now = new Set((await refresher.listLeases().catch(() => undefined))?.map((l) => l.leaseKey) ?? last);
      for (const k of last) if (!now.has(k)) deleted.add(k);
      last = now;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { deleted, stop: async () => void ((running = false), await loop) };
}

describe('lease cleanup never deletes a live lease (issue 10, item 1)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesis-local')));
  after(async () => env?.close());

  it('a split landing between ListShards and the lease Scan: no child lease deleted, nothing lost or read twice', async () => {
    const stream = uniqueName('race');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    const recorder = new Recorder();
    // The worker never syncs on its own: the test's manager plays the leader.
    const worker = testScheduler(env, { applicationName: app, streamName: stream, workerId: 'w', lease: { shardSyncIntervalMs: 600000 }, processorFactory: recordingFactory(recorder) });
    const running = start(worker);
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    const put = async (tag: string): Promise<string[]> =>
      (await putRecords(env.kinesis, stream, Array.from({ length: 24 }, (_, i) => ({ partitionKey: `key-${i}`, data: `${tag}-${i}` })))).map((r) => r.data);
    const produced = await put('a');
    await waitFor(() => recorder.deliveries.length >= produced.length, 'the parent records');

    const detector = new HookedDetector(env.kinesis, { streamName: stream });
    const leader = new ShardSyncManager(detector, refresher, 'TRIM_HORIZON', true, silentLogger, new Metrics('NONE', [], silentLogger));
    let children: string[] = [];
    detector.hook = async () => {
      children = await splitShard(env.kinesis, stream, P);
      produced.push(...(await put('b')));
      // The worker ends the parent, creates the children's leases and starts them, all before the Scan.
      await waitFor(async () => {
        const leases = await refresher.listLeases();
        return children.every((c) => leases.some((l) => l.leaseKey === c && l.checkpoint.sequenceNumber !== 'TRIM_HORIZON'));
      }, 'both children started', 30000);
    };
    const watch = watchDeletions(refresher);
    await leader.syncAndCleanUp();
    assert.equal(children.length, 2);
    const afterRace = (await refresher.listLeases()).map((l) => l.leaseKey);
    for (const c of children) assert.ok(afterRace.includes(c), `the live child lease ${c} survives a sync whose listing predates it`);

    // A later sync with a fresh listing must not recreate anything already read.
    produced.push(...(await put('c')));
    await leader.syncAndCleanUp();
    await waitFor(() => recorder.dataSet().size >= produced.length, `all ${produced.length} records`, 30000);
    await waitFor(async () => !(await refresher.listLeases()).some((l) => l.leaseKey === P), 'the finished parent cleaned up once its children started');
    await worker.startGracefulShutdown();
    await running;
    await watch.stop();

    assert.deepEqual([...watch.deleted].sort(), [P], 'only the finished parent was deleted');
    const data = recorder.deliveries.map((d) => d.data);
    assert.equal(data.length, new Set(data).size, 'no record read twice');
    assert.deepEqual([...new Set(data)].sort(), [...produced].sort(), 'no record lost');
  });

  it('deletes the lease of a shard whose GetShardIterator answers ResourceNotFound; a failed check deletes nothing', async () => {
    const stream = uniqueName('gone');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(30000);
    const proxy = new FaultProxy(env.servers.kinesis.endpoint);
    const endpoint = await proxy.start();
    const kinesis = new KinesisClient({ region, credentials, endpoint, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
    try {
      const leader = new ShardSyncManager(new ShardDetector(kinesis, { streamName: stream }), refresher, 'TRIM_HORIZON', true, silentLogger, new Metrics('NONE', [], silentLogger));
      const ghost = 'shardId-000000000099';
      await refresher.createLeaseIfNotExists(unowned(ghost));
      await refresher.createLeaseIfNotExists(unowned(P, TRIM_HORIZON));
      // The existence check fails (throttled, then the connection drops): the lease stays.
      proxy.inject('Kinesis_20131202.GetShardIterator', { status: 400, type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded' });
      await leader.syncAndCleanUp();
      proxy.inject('Kinesis_20131202.GetShardIterator', 'destroy');
      await leader.syncAndCleanUp();
      assert.equal(proxy.faulted('Kinesis_20131202.GetShardIterator'), 2);
      assert.deepEqual((await refresher.listLeases()).map((l) => l.leaseKey).sort(), [P, ghost]);
      // The check answers: the shard does not exist, so its lease goes; the listed shard's lease is never checked.
      await leader.syncAndCleanUp();
      assert.deepEqual((await refresher.listLeases()).map((l) => l.leaseKey), [P]);
      assert.equal(proxy.count('Kinesis_20131202.GetShardIterator'), 3, 'only the unlisted lease is checked');
    } finally {
      kinesis.destroy();
      await proxy.stop();
    }
  });
});
