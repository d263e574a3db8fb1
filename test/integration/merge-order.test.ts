import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, waitFor, splitShard, mergeShards, listShards, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory, type Delivery } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { TRIM_HORIZON } from '../../src/retrieval/extended-sequence-number.ts';

const S0 = 'shardId-000000000000';
const S1 = 'shardId-000000000001';
const Q = 2n ** 125n;
/** Partition keys pinned (explicit hash key) to the lower and upper quarter of shard 0 and to shard 1. */
const KEYS = [
  ...[0, 1, 2].map((i) => ({ partitionKey: `lo-${i}`, explicitHashKey: (Q + BigInt(i)).toString() })),
  ...[0, 1, 2].map((i) => ({ partitionKey: `mid-${i}`, explicitHashKey: (3n * Q + BigInt(i)).toString() })),
  ...[0, 1, 2].map((i) => ({ partitionKey: `hi-${i}`, explicitHashKey: (5n * Q + BigInt(i)).toString() })),
];

/** Per key, the first deliveries must be exactly the puts, in put order (redeliveries may follow). */
function assertPerKeyOrder(deliveries: Delivery[], put: Map<string, string[]>): void {
  for (const [key, expected] of put) {
    const seen = new Set<string>();
    const firsts: string[] = [];
    for (const d of deliveries) {
      if (d.partitionKey !== key || seen.has(d.data)) continue;
      seen.add(d.data);
      firsts.push(d.data);
    }
    assert.deepEqual(firsts, expected, `records of ${key} in put order, none lost`);
  }
}

describe('per-key order at a merge whose other parent lags (issue 10, item 3)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesis-local')));
  after(async () => env?.close());

  it('the merge child waits for a parent that had no lease yet (a split child of a lagging shard)', async () => {
    const stream = uniqueName('merge');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    const boundary = BigInt((await listShards(env.kinesis, stream)).find((s) => s.ShardId === S1)!.HashKeyRange!.StartingHashKey!);
    assert.ok(boundary > 3n * Q + 2n && boundary <= 5n * Q, 'lo and mid keys on shard 0, hi keys on shard 1');
    const recorder = new Recorder();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let parentHeld = false;
    // Shard 0 lags: its first batch is held until the test lets it go.
    const factory = recordingFactory(recorder, {
      onRecords: async (_records, shardId) => {
        if (shardId !== S0) return;
        parentHeld = true;
        await gate;
      },
    });
    // No periodic sync: leases come from the start-up sync and from GetRecords' ChildShards at each parent's end.
    const worker = testScheduler(env, { applicationName: app, streamName: stream, workerId: 'w', lease: { shardSyncIntervalMs: 600000 }, processorFactory: factory });
    const running = start(worker);
    const put = new Map<string, string[]>();
    const produce = async (tag: string): Promise<void> => {
      const records = [0, 1].flatMap((n) => KEYS.map((k) => ({ ...k, data: `${k.partitionKey}:${tag}${n}` })));
      await putRecords(env.kinesis, stream, records);
      for (const r of records) put.set(r.partitionKey, [...(put.get(r.partitionKey) ?? []), r.data]);
    };
    await produce('a');
    await waitFor(() => parentHeld && recorder.byShard(S1).length >= 6, 'shard 1 read, shard 0 held');

    const [lower, upper] = await splitShard(env.kinesis, stream, S0);
    await produce('b');
    const merged = await mergeShards(env.kinesis, stream, upper!, S1);
    await produce('c');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    // Shard 1 ends and creates the merge child's lease. Either the child runs at once (the bug) or the
    // other parent, a split child of the held shard, gets its lease too and the child waits for it.
    await waitFor(
      async () => recorder.byShard(merged).length > 0 || (await refresher.listLeases()).some((l) => l.leaseKey === upper),
      'the merge child processed, or its other parent leased',
      30000,
    );
    assert.equal(recorder.byShard(merged).length, 0, 'the merge child did not start before its other parent');
    release();
    const total = [...put.values()].reduce((n, v) => n + v.length, 0);
    await waitFor(() => recorder.dataSet().size >= total, `all ${total} records`, 60000);
    await worker.startGracefulShutdown();
    await running;

    assertPerKeyOrder(recorder.deliveries, put);
    const lastOf = (id: string): number => recorder.deliveries.map((d) => d.shardId).lastIndexOf(id);
    const firstOf = (id: string): number => recorder.deliveries.findIndex((d) => d.shardId === id);
    assert.ok(firstOf(upper!) > lastOf(S0), 'the split child after its parent');
    assert.ok(firstOf(lower!) > lastOf(S0), 'the split child after its parent');
    assert.ok(firstOf(merged) > Math.max(lastOf(upper!), lastOf(S1)), 'the merge child after both parents');
  });

  it('a not-started child whose parent has no lease waits: the consumer has that parent leased while its shard exists', async () => {
    const stream = uniqueName('orphan');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    const recorder = new Recorder();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = new Set<string>();
    // Both original shards are held, so neither reaches its end (and no child lease comes from there).
    const factory = recordingFactory(recorder, {
      onRecords: async (_records, shardId) => {
        if (shardId !== S0 && shardId !== S1) return;
        held.add(shardId);
        await gate;
      },
    });
    const worker = testScheduler(env, { applicationName: app, streamName: stream, workerId: 'w', lease: { shardSyncIntervalMs: 600000 }, processorFactory: factory });
    const running = start(worker);
    const put = new Map<string, string[]>();
    const produce = async (tag: string): Promise<void> => {
      const records = KEYS.map((k) => ({ ...k, data: `${k.partitionKey}:${tag}` }));
      await putRecords(env.kinesis, stream, records);
      for (const r of records) put.set(r.partitionKey, [...(put.get(r.partitionKey) ?? []), r.data]);
    };
    await produce('a');
    await waitFor(() => held.size === 2, 'both shards held');
    const [, upper] = await splitShard(env.kinesis, stream, S0);
    await produce('b');
    const merged = await mergeShards(env.kinesis, stream, upper!, S1);
    await produce('c');
    // Another writer (a Java worker, an older ts-kcl) leased the merge child alone.
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    const shard = (await listShards(env.kinesis, stream)).find((x) => x.ShardId === merged)!;
    await refresher.createLeaseIfNotExists({
      leaseKey: merged,
      leaseCounter: 0,
      checkpoint: TRIM_HORIZON,
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: [upper!, S1],
      childShardIds: [],
      hashKeyRange: { startingHashKey: shard.HashKeyRange!.StartingHashKey!, endingHashKey: shard.HashKeyRange!.EndingHashKey! },
    });
    const upperLease = await waitFor(async () => (await refresher.listLeases()).find((l) => l.leaseKey === upper), 'the lease-less parent leased by the waiting child', 20000);
    assert.equal(upperLease.checkpoint.sequenceNumber, 'TRIM_HORIZON', 'it descends from a leased shard');
    assert.deepEqual(upperLease.parentShardIds, [S0]);
    assert.equal(recorder.byShard(merged).length, 0);
    release();
    const total = [...put.values()].reduce((n, v) => n + v.length, 0);
    await waitFor(() => recorder.dataSet().size >= total, `all ${total} records`, 60000);
    await worker.startGracefulShutdown();
    await running;
    assertPerKeyOrder(recorder.deliveries, put);
  });
});
