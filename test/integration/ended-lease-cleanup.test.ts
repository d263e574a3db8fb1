// Issue 12, the gap: each worker deletes the leases its own consumers ended, whoever leads (Java 2.x's
// LeaseCleanupManager). The leader here never syncs in the test window, as a Java leader's sync
// deletes nothing it did not end itself.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, waitFor, splitShard, makeRecords, listShards, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { isLeader } from '../../src/leases/leader-decider.ts';
import { esn, SHARD_END } from '../../src/retrieval/extended-sequence-number.ts';
import type { Scheduler } from '../../src/index.ts';

describe('ended-lease cleanup by the worker that ended the shard', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesis-local')));
  after(async () => env?.close());

  it('deletes an ended lease only while it is still this worker’s SHARD_END lease, and a lost answer reads back as done', async () => {
    const app = uniqueName('del');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(10000);
    const lease = { leaseKey: 'shardId-000000000001', leaseOwner: 'a', leaseCounter: 3, checkpoint: SHARD_END, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] };
    await refresher.createLeaseIfNotExists(lease);
    assert.equal(await refresher.deleteEndedLease(lease.leaseKey, 'b'), false, 'another worker’s lease stays');
    await refresher.createLeaseIfNotExists({ ...lease, leaseKey: 'shardId-000000000002', checkpoint: esn('49590000000000000000000000000000000000000000000000000001') });
    assert.equal(await refresher.deleteEndedLease('shardId-000000000002', 'a'), false, 'a lease not at SHARD_END stays');
    assert.equal(await refresher.deleteEndedLease(lease.leaseKey, 'a'), true);
    assert.equal(await refresher.getLease(lease.leaseKey), undefined);
    assert.equal(await refresher.deleteEndedLease(lease.leaseKey, 'a'), true, 'already gone: the condition fails, the read decides');
    assert.ok(await refresher.getLease('shardId-000000000002'));
  });

  it('a non-leader that ends a shard deletes its lease once the children started, with no leader sync', async () => {
    const stream = uniqueName('own');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    const recorder = new Recorder();
    const lease = { shardSyncIntervalMs: 600000, leaseCleanupIntervalMs: 300, completedLeaseCleanupIntervalMs: 0 };
    const workers = new Map<string, Scheduler>(
      ['worker-a', 'worker-b'].map((id) => [id, testScheduler(env, { applicationName: app, streamName: stream, workerId: id, lease, processorFactory: recordingFactory(recorder) })]),
    );
    const running = [...workers.values()].map(start);
    try {
      const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
      const leases = await waitFor(async () => {
        const all = await refresher.listLeases();
        return all.length === 2 && new Set(all.map((l) => l.leaseOwner)).size === 2 && all.every((l) => l.leaseOwner) ? all : undefined;
      }, 'one lease on each worker');
      const nonLeader = [...workers.keys()].find((id) => !isLeader(id, leases))!;
      const ended = leases.find((l) => l.leaseOwner === nonLeader)!.leaseKey;

      const children = await splitShard(env.kinesis, stream, ended);
      // Every child gets records (by explicit hash key): a child that never starts keeps its parent's lease, as in Java.
      const shards = await listShards(env.kinesis, stream);
      const produced = await putRecords(
        env.kinesis,
        stream,
        children.flatMap((c) => makeRecords(10, `after-split-${c}`).map((r) => ({ ...r, explicitHashKey: shards.find((x) => x.ShardId === c)!.HashKeyRange!.StartingHashKey! }))),
      );
      await waitFor(() => recorder.methods(ended).includes('shardEnded'), 'the non-leader ends its shard');
      await waitFor(() => produced.every((p) => recorder.dataSet().has(p.data)), 'the children’s records');
      await waitFor(async () => (await refresher.getLease(ended)) === undefined, 'the ended lease deleted by the worker that ended it', 20000);
      for (const c of children) assert.ok(await refresher.getLease(c), `child ${c} kept`);
      assert.ok(!workers.get(nonLeader)!.heldShardIds().includes(ended));
    } finally {
      await Promise.all([...workers.values()].map((w) => w.shutdown()));
      await Promise.all(running);
    }
  });
});
