import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, waitFor, splitShard, mergeShards, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory, type Delivery } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import type { Lease } from '../../src/leases/lease.ts';
import type { Scheduler } from '../../src/index.ts';

const KEYS = 12;

/** Continuous production with per-key counters, so order can be checked per partition key. */
function producer(env: TestEnv, stream: string): { stop(): Promise<void>; put: Map<string, string[]> } {
  const put = new Map<string, string[]>();
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const batch = Array.from({ length: KEYS }, (_, i) => ({ partitionKey: `key-${i}`, data: `key-${i}:${n}` }));
      n++;
      await putRecords(env.kinesis, stream, batch);
      for (const r of batch) put.set(r.partitionKey, [...(put.get(r.partitionKey) ?? []), r.data]);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { put, stop: async () => void ((running = false), await loop) };
}

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

/** Watches the lease table, remembering every lease state ever seen. */
function watchLeases(refresher: DynamoDBLeaseRefresher): { stop(): Promise<void>; seen: Map<string, Lease[]> } {
  const seen = new Map<string, Lease[]>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const l of await refresher.listLeases().catch(() => [])) seen.set(l.leaseKey, [...(seen.get(l.leaseKey) ?? []), l]);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { seen, stop: async () => void ((running = false), await loop) };
}

for (const kind of ['kinesis-local', 'kinesalite'] as const) {
  describe(`resharding: parents before children (${kind})`, () => {
    let env: TestEnv;
    before(async () => (env = await startEnv(kind)));
    after(async () => env?.close());

    const workers = (app: string, stream: string, recorder: Recorder, n = 2): Scheduler[] =>
      Array.from({ length: n }, (_, i) =>
        testScheduler(env, {
          applicationName: app,
          streamName: stream,
          workerId: `worker-${i}`,
          lease: { failoverTimeMs: 3000, takerIntervalMs: 500, shardSyncIntervalMs: 1000 },
          processorFactory: recordingFactory(recorder),
        }),
      );

    it('split then merge under continuous production with two workers: in order per key, nothing lost, parents SHARD_END, cleaned up', async () => {
      const stream = uniqueName('reshard');
      const app = uniqueName('app');
      await createStream(env.kinesis, stream, 2);
      const recorder = new Recorder();
      const group = workers(app, stream, recorder);
      const running = group.map(start);
      const ended: string[] = [];
      const lostAfterEnd: string[] = []; // a lease lost by the worker that had ended its shard
      for (const w of group) {
        const endedHere = new Set<string>();
        w.on('shardEnded', (id) => (ended.push(id), endedHere.add(id)));
        w.on('leaseLost', (id) => endedHere.has(id) && lostAfterEnd.push(id));
      }
      const prod = producer(env, stream);
      const watch = watchLeases(new DynamoDBLeaseRefresher(env.dynamodb, app));
      await waitFor(() => recorder.deliveries.length > 50, 'records flowing');

      const [childA, childB] = await splitShard(env.kinesis, stream, 'shardId-000000000000');
      await waitFor(() => recorder.deliveries.some((d) => d.shardId === childA) && recorder.deliveries.some((d) => d.shardId === childB), 'both children processed', 30000);
      const merged = await mergeShards(env.kinesis, stream, childA!, childB!);
      await waitFor(() => recorder.deliveries.some((d) => d.shardId === merged), 'the merged child processed', 30000);
      await prod.stop();
      const total = [...prod.put.values()].reduce((a, v) => a + v.length, 0);
      await waitFor(() => new Set(recorder.deliveries.map((d) => d.data)).size >= total, `all ${total} records`, 30000);
      // Completed parents are deleted once their children have started.
      await waitFor(async () => {
        const keys = (await new DynamoDBLeaseRefresher(env.dynamodb, app).listLeases()).map((l) => l.leaseKey);
        return !keys.includes('shardId-000000000000') && !keys.includes(childA!) && !keys.includes(childB!);
      }, 'ended leases cleaned up', 30000).catch(async (err: unknown) => {
        console.log(JSON.stringify(await new DynamoDBLeaseRefresher(env.dynamodb, app).listLeases(), null, 1));
        throw err;
      });
      // A finished shard leaves its worker; the cleanup that deletes its lease is no lease loss.
      const parents = ['shardId-000000000000', childA!, childB!];
      await waitFor(() => group.every((w) => !w.heldShardIds().some((id) => parents.includes(id))), 'finished shards gone from the workers');
      assert.deepEqual(lostAfterEnd, [], 'no leaseLost for a shard that ended');
      await watch.stop();
      await Promise.all(group.map((w) => w.startGracefulShutdown()));
      await Promise.all(running);

      assertPerKeyOrder(recorder.deliveries, prod.put);
      for (const parent of ['shardId-000000000000', childA!, childB!]) {
        assert.ok(watch.seen.get(parent)?.some((l) => l.checkpoint.sequenceNumber === 'SHARD_END'), `${parent} ended with SHARD_END`);
        assert.ok(ended.includes(parent), `shardEnded event for ${parent}`);
      }
      assert.deepEqual(watch.seen.get('shardId-000000000000')!.at(-1)!.childShardIds.sort(), [childA, childB].sort(), 'the parent records its children');
      assert.deepEqual(watch.seen.get(merged)![0]!.parentShardIds.sort(), [childA, childB].sort(), "the merged child's lease lists both parents");
      // A child never delivered before its parents were done: its first record comes after the parent's last.
      const lastOf = (id: string): number => recorder.deliveries.map((d) => d.shardId).lastIndexOf(id);
      const firstOf = (id: string): number => recorder.deliveries.findIndex((d) => d.shardId === id);
      assert.ok(firstOf(childA!) > lastOf('shardId-000000000000') || recorder.deliveries.filter((d) => d.shardId === 'shardId-000000000000').length === 0);
      assert.ok(firstOf(merged) > Math.max(lastOf(childA!), lastOf(childB!)), 'the merged child waited for both parents');
    });

    it('a stream resharded while no worker ran is picked up with its lineage when workers start', async () => {
      const stream = uniqueName('offline');
      const app = uniqueName('app');
      await createStream(env.kinesis, stream, 1);
      const before = await putRecords(env.kinesis, stream, Array.from({ length: 30 }, (_, i) => ({ partitionKey: `key-${i % 5}`, data: `key-${i % 5}:a${i}` })));
      const first = new Recorder();
      const w1 = workers(app, stream, first, 1)[0]!;
      const r1 = start(w1);
      await waitFor(() => first.deliveries.length >= 30, 'the first records');
      await w1.startGracefulShutdown();
      await r1;

      // Reshard and write while nothing runs.
      await putRecords(env.kinesis, stream, Array.from({ length: 10 }, (_, i) => ({ partitionKey: `key-${i % 5}`, data: `key-${i % 5}:b${i}` })));
      const children = await splitShard(env.kinesis, stream, 'shardId-000000000000');
      const after = await putRecords(env.kinesis, stream, Array.from({ length: 30 }, (_, i) => ({ partitionKey: `key-${i % 5}`, data: `key-${i % 5}:c${i}` })));
      assert.ok(after.every((p) => children.includes(p.shardId)));

      const second = new Recorder();
      const group = workers(app, stream, second, 2);
      const running = group.map(start);
      await waitFor(() => second.deliveries.length >= 40, 'the records put while no worker ran');
      await Promise.all(group.map((w) => w.startGracefulShutdown()));
      await Promise.all(running);
      const data = second.deliveries.map((d) => d.data);
      assert.ok(!data.some((d) => before.some((b) => b.data === d)), 'nothing checkpointed is redelivered');
      // Per key: the parent's tail (b) comes before the children's records (c).
      for (let k = 0; k < 5; k++) {
        const mine = data.filter((d) => d.startsWith(`key-${k}:`));
        const lastB = mine.map((d) => d.includes(':b')).lastIndexOf(true);
        const firstC = mine.findIndex((d) => d.includes(':c'));
        assert.ok(lastB < firstC, `key-${k}: parent records before child records (${mine.join(' ')})`);
      }
      assert.equal(new Set(data).size, 40);
    });

    it('a stream resharded before any worker ran: TRIM_HORIZON covers the parent, then the children', async () => {
      const stream = uniqueName('fresh');
      await createStream(env.kinesis, stream, 1);
      await putRecords(env.kinesis, stream, Array.from({ length: 10 }, (_, i) => ({ partitionKey: `key-${i % 3}`, data: `key-${i % 3}:p${i}` })));
      await splitShard(env.kinesis, stream, 'shardId-000000000000');
      await putRecords(env.kinesis, stream, Array.from({ length: 10 }, (_, i) => ({ partitionKey: `key-${i % 3}`, data: `key-${i % 3}:q${i}` })));
      const recorder = new Recorder();
      const [w] = workers(uniqueName('app'), stream, recorder, 1);
      const running = start(w!);
      await waitFor(() => recorder.deliveries.length >= 20, 'parent and children records');
      await w!.shutdown();
      await running;
      for (let k = 0; k < 3; k++) {
        const mine = recorder.deliveries.filter((d) => d.partitionKey === `key-${k}`).map((d) => d.data);
        assert.ok(mine.map((d) => d.includes(':p')).lastIndexOf(true) < mine.findIndex((d) => d.includes(':q')), `key-${k} in order: ${mine.join(' ')}`);
      }
    });
  });
}
