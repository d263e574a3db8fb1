// Issue 12: ts-kcl and the real Java KCL in one application (one lease table, one stream), as a suite
// per Java KCL version (java-fleet-<version>.test.ts: separate files, so the runner can overlap them).
// The Java worker is built with Maven during set-up (java-build.ts); without java or mvn the tests
// skip with the reason, except in CI (CI or TS_KCL_REQUIRE_JAVA set), where that fails.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, waitFor, splitShard, makeRecords, listShards, type TestEnv, type PutResult } from '../support/env.ts';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { isLeader } from '../../src/leases/leader-decider.ts';
import type { Lease } from '../../src/leases/lease.ts';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { aggregate, type InitializationInput } from '../../src/index.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import type { JavaWorkerBuild, KclVersion } from './java-build.ts';
import { javaOrSkip, knownJavaError, skipOrFail } from './java-toolchain.ts';
import { Fleet, createTableWith3xIndex } from './fleet.ts';

const FAILOVER_MS = 3000;
/** Java's taker runs every 2 * (failover + epsilon): the slowest step of every hand-over. */
const JAVA_TAKER_MS = 2 * (FAILOVER_MS + 25);

const seqAtLeast = (a: string, b: string): boolean => (/^\d+$/.test(a) && /^\d+$/.test(b) ? BigInt(a) >= BigInt(b) : a === b);

export function describeMixedFleet(version: KclVersion): void {
  describe(`a mixed fleet with the Java KCL ${version}`, () => {
    let env: TestEnv;
    let build: JavaWorkerBuild | string | undefined;
    const fleet = new Fleet();
    before(async () => {
      env = await startEnv('kinesis-local');
      build = await javaOrSkip(version);
    });
    after(async () => {
      await fleet.stopAll();
      await env?.close();
    });

    it('balances 4/4, hands over on kill -9 and SIGTERM both ways with nothing lost, splits, and cleans up under a Java leader', async (t) => {
      if (!skipOrFail(t, build)) return;
      const java = build;
      const stream = uniqueName('mixed');
      const app = uniqueName('mixed-app');
      await createStream(env.kinesis, stream, 8);
      if (version === '3.5.1') await createTableWith3xIndex(env.dynamodb, app);
      const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
      const javaOpts = { stream, app, endpoints: env.clientConfig.endpoints, cbor: true, failoverMs: FAILOVER_MS, maxLeasesToStealAtOneTime: 4 };
      const startJava = (id: string): void => fleet.spawnJava(java, id, javaOpts);
      const startTs = (id: string): void =>
        fleet.spawnTs({
          workerId: id,
          applicationName: app,
          streamName: stream,
          clientConfig: env.clientConfig,
          initialPosition: 'TRIM_HORIZON',
          logWarnings: true,
          retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200 },
          lease: { failoverTimeMs: FAILOVER_MS, takerIntervalMs: 500, shardSyncIntervalMs: 2000, maxLeasesToStealAtOneTime: 4, leaseCleanupIntervalMs: 500, completedLeaseCleanupIntervalMs: 0 },
          coordinator: { parentShardPollIntervalMs: 200, initializationBackoffMs: 200 },
        });
      const produced: PutResult[] = [];
      let batch = 0;
      const produce = async (n = 48): Promise<PutResult[]> => {
        const put = await putRecords(env.kinesis, stream, makeRecords(n, `b${++batch}`, 32));
        produced.push(...put);
        return put;
      };
      const allDelivered = (what: string): Promise<unknown> =>
        waitFor(() => produced.every((p) => fleet.delivered().has(p.data)), `${what}: every record delivered`, 60000, 100);
      const leasesOf = async (owner: string): Promise<Lease[]> => (await refresher.listLeases()).filter((l) => l.leaseOwner === owner);
      const balanced = (a: string, b: string): Promise<unknown> =>
        waitFor(async () => (await leasesOf(a)).length === 4 && (await leasesOf(b)).length === 4, `${a} and ${b} hold 4 leases each`, 60000, 200);
      /** Every shard `from` held has been initialized by `to` after event `mark`; returns the inits. */
      const takenOver = (shards: string[], to: string, mark: number, what: string): Promise<Map<string, string>> =>
        waitFor(
          () => {
            const inits = new Map(shards.map((s) => [s, fleet.initAfter(s, mark)]));
            return [...inits.values()].every((e) => e?.w === to) ? new Map([...inits].map(([s, e]) => [s, e!.from as string])) : undefined;
          },
          what,
          60000,
          100,
        );
      const timings: Record<string, number> = {};
      const timed = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
        const t0 = Date.now();
        const out = await step();
        timings[name] = Date.now() - t0;
        return out;
      };

      // 1. Balance: the Java worker starts alone and takes all 8; the ts-kcl worker takes its share.
      startJava('java-1');
      await waitFor(() => fleet.of('java-1', 'init').length === 8, 'java-1 holds all 8 shards', 90000, 100);
      startTs('ts-1');
      await timed('balance', () => balanced('java-1', 'ts-1'));
      await produce();
      await allDelivered('balanced');

      // 2. kill -9 of the ts-kcl worker: Java resumes each shard at ts-kcl's checkpoint, nothing lost.
      const tsShards = (await leasesOf('ts-1')).map((l) => l.leaseKey);
      await produce();
      await waitFor(() => tsShards.some((s) => fleet.last('ts-1', s, 'cp') !== undefined), 'ts-1 checkpointed');
      let mark = fleet.events.length;
      fleet.kill('ts-1', 'SIGKILL');
      await fleet.exited('ts-1');
      await produce();
      const fromJava = await timed('kill ts -> java', () => takenOver(tsShards, 'java-1', mark, 'java-1 takes the killed ts-kcl worker’s shards'));
      for (const s of tsShards) {
        const cp = fleet.last('ts-1', s, 'cp') ?? 'TRIM_HORIZON';
        assert.ok(seqAtLeast(fromJava.get(s)!, cp), `${s}: Java starts at ${fromJava.get(s)}, ts-kcl checkpointed ${cp}`);
      }
      await allDelivered('after kill -9 of ts-kcl');

      // 3. kill -9 of the Java worker: ts-kcl resumes at Java's checkpoints.
      startTs('ts-2');
      await balanced('java-1', 'ts-2');
      const javaShards = (await leasesOf('java-1')).map((l) => l.leaseKey);
      await produce();
      await waitFor(() => javaShards.some((s) => fleet.last('java-1', s, 'cp') !== undefined), 'java-1 checkpointed');
      mark = fleet.events.length;
      fleet.kill('java-1', 'SIGKILL');
      await fleet.exited('java-1');
      await produce();
      const fromTs = await timed('kill java -> ts', () => takenOver(javaShards, 'ts-2', mark, 'ts-2 takes the killed Java worker’s shards'));
      for (const s of javaShards) {
        const cp = fleet.last('java-1', s, 'cp') ?? 'TRIM_HORIZON';
        assert.ok(seqAtLeast(fromTs.get(s)!, cp), `${s}: ts-kcl starts at ${fromTs.get(s)}, Java checkpointed ${cp}`);
      }
      await allDelivered('after kill -9 of Java');

      // 4. SIGTERM of the ts-kcl worker: it checkpoints and releases; Java takes the leases in its next
      //    taker round (no expiry wait) and starts right after the last delivered record: zero redelivery.
      startJava('java-2');
      await balanced('java-2', 'ts-2');
      await produce();
      await allDelivered('before SIGTERM of ts-kcl');
      const tsHeld = (await leasesOf('ts-2')).map((l) => l.leaseKey);
      mark = fleet.events.length;
      const sigterm = Date.now();
      fleet.kill('ts-2', 'SIGTERM');
      await fleet.exited('ts-2');
      const released = await refresher.listLeases();
      for (const s of tsHeld) assert.equal(released.find((l) => l.leaseKey === s)?.leaseOwner ?? 'java-2', 'java-2', `${s} released by ts-kcl (or already Java's)`);
      const afterTsStop = await takenOver(tsHeld, 'java-2', mark, 'java-2 takes the released leases');
      timings['sigterm ts -> java'] = Date.now() - sigterm;
      assert.ok(timings['sigterm ts -> java'] < 2 * JAVA_TAKER_MS + 5000, `released leases taken in one taker round, not after expiry (${timings['sigterm ts -> java']} ms)`);
      for (const s of tsHeld) assert.equal(afterTsStop.get(s), fleet.last('ts-2', s, 'rec') ?? 'TRIM_HORIZON', `${s}: Java starts right after ts-kcl’s last record`);
      await produce();
      await allDelivered('after SIGTERM of ts-kcl');

      // 5. SIGTERM of the Java worker: it checkpoints and keeps the owner; ts-kcl takes at expiry, with zero redelivery.
      startTs('ts-3');
      await balanced('java-2', 'ts-3');
      await produce();
      await allDelivered('before SIGTERM of Java');
      const javaHeld = (await leasesOf('java-2')).map((l) => l.leaseKey);
      mark = fleet.events.length;
      fleet.kill('java-2', 'SIGTERM');
      await fleet.exited('java-2');
      assert.ok(fleet.of('java-2', 'graceful').some((e) => e.ok === true), 'Java’s graceful shutdown finished');
      assert.equal((await leasesOf('java-2')).length, javaHeld.length, 'Java keeps leaseOwner on graceful shutdown');
      const afterJavaStop = await timed('sigterm java -> ts', () => takenOver(javaHeld, 'ts-3', mark, 'ts-3 takes the expired leases'));
      for (const s of javaHeld) assert.equal(afterJavaStop.get(s), fleet.last('java-2', s, 'rec') ?? 'TRIM_HORIZON', `${s}: ts-kcl starts right after Java’s last record`);
      await produce();
      await allDelivered('after SIGTERM of Java');
      const redelivered = [...fleet.deliveryCounts(mark)].filter(([, n]) => n > 1);
      assert.deepEqual(redelivered, [], 'no record delivered twice after the graceful hand-overs');

      // 6. A split of a Java-held and a ts-held shard under a Java leader: children created by one side and
      //    read by either, parents first; ts-kcl deletes its own ended lease (Java's leader sync deletes none).
      const javaId = ['java-3', 'java-4', 'java-5', 'java-6', 'java-7'].find((id) => isLeader(id, [id, 'ts-3'].map((o) => ({ leaseOwner: o }) as Lease)))!;
      startJava(javaId);
      await balanced(javaId, 'ts-3');
      const javaParent = (await leasesOf(javaId))[0]!.leaseKey;
      const tsParent = (await leasesOf('ts-3'))[0]!.leaseKey;
      mark = fleet.events.length;
      const children = [...(await splitShard(env.kinesis, stream, javaParent)), ...(await splitShard(env.kinesis, stream, tsParent))];
      // Records for every child by explicit hash key: a child without records never starts, and its parent stays (as in Java).
      const shards = await listShards(env.kinesis, stream);
      const perChild = children.flatMap((c, i) =>
        Array.from({ length: 6 }, (_, j) => ({ partitionKey: `child-${i}-${j}`, data: `split-${c}-${j}`, explicitHashKey: shards.find((x) => x.ShardId === c)!.HashKeyRange!.StartingHashKey! })),
      );
      const afterSplit = await putRecords(env.kinesis, stream, perChild);
      produced.push(...afterSplit);
      await produce(48);
      await timed('split', () => allDelivered('after the splits'));
      for (const c of children) {
        const parentEnd = fleet.events.findIndex((e, i) => i >= mark && e.t === 'shardEnded' && (e.shardId === javaParent || e.shardId === tsParent));
        const childStart = fleet.events.findIndex((e, i) => i >= mark && e.t === 'init' && e.shardId === c);
        assert.ok(parentEnd >= 0 && childStart > parentEnd, `${c} starts after a parent ended`);
      }
      assert.ok(children.every((c) => afterSplit.some((p) => p.shardId === c)), 'every child got records');
      const readers = new Set(fleet.events.slice(mark).filter((e) => e.t === 'rec' && children.includes(e.shardId!)).map((e) => e.w));
      t.diagnostic(`children read by ${[...readers].join(', ')}`);
      await timed('ts cleanup under java leader', () =>
        waitFor(async () => (await refresher.getLease(tsParent)) === undefined, 'ts-kcl deletes the lease of the shard it ended', 30000, 200),
      );
      assert.ok(await refresher.getLease(children[0]!), 'children’s leases stay');

      // Nothing lost, no worker crashed, no Java ERROR line (ts-kcl's processors log refused checkpoints of stolen leases: expected).
      await allDelivered('at the end');
      assert.deepEqual(fleet.events.filter((e) => e.t === 'crash' || e.t === 'fatal'), []);
      assert.deepEqual(fleet.events.filter((e) => e.t === 'log' && e.java === true && e.level === 'error' && !knownJavaError(e)).map((e) => `${e.w}: ${String(e.msg)} ${JSON.stringify(e.trace ?? e)}`), []);
      t.diagnostic(`Java KCL ${version} timings (ms): ${JSON.stringify(timings)}`);
      if (version === '3.5.1') {
        const raw = (await env.dynamodb.send(new ScanCommand({ TableName: app, ConsistentRead: true }))).Items ?? [];
        assert.ok(raw.some((i) => i.leaseKey?.S === 'Migration3.0'), '3.x’s migration item is still there');
      }
    });

    // Once, with 2.x (3.x's pending checkpoint items are the same: see test/fixtures), to keep the JVM part short.
    if (version === '2.7.2') it('a checkpoint prepared in the middle of a KPL aggregate is read across, both ways', async (t) => {
      if (!skipOrFail(t, build)) return;
      const java = build;
      const stream = uniqueName('prepared');
      const app = uniqueName('prepared-app');
      await createStream(env.kinesis, stream, 1);
      const putAggregate = async (tag: string): Promise<void> => {
        const [packed] = aggregate(Array.from({ length: 10 }, (_, i) => ({ partitionKey: 'agg', data: Buffer.from(`${tag}-${i}`) })));
        await env.kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: packed!.partitionKey, Data: packed!.data }));
      };
      // Java prepares at the sixth user record of an aggregate and dies; ts-kcl's processor is told.
      await putAggregate('j');
      const id = 'java-prep';
      fleet.spawnJava(java, id, { stream, app, endpoints: env.clientConfig.endpoints, cbor: true, failoverMs: FAILOVER_MS, prepareOn: 'j-5' });
      const prepared = await waitFor(() => fleet.of(id, 'prepared')[0], 'Java prepares a checkpoint', 90000, 100);
      fleet.kill(id, 'SIGKILL');
      await fleet.exited(id);
      let seen: InitializationInput | undefined;
      let preparedByTs: { sequenceNumber: string; subSequenceNumber: number } | undefined;
      const ts = testScheduler(env, {
        applicationName: app,
        streamName: stream,
        workerId: 'ts-prep',
        lease: { failoverTimeMs: FAILOVER_MS, takerIntervalMs: 500 },
        processorFactory: () => ({
          initialize: (input) => void (seen = input),
          processRecords: async ({ records, checkpointer }) => {
            const r = records.find((x) => Buffer.from(x.data).toString() === 't-3');
            if (r && !preparedByTs) {
              await checkpointer.prepareCheckpoint(r);
              preparedByTs = { sequenceNumber: r.sequenceNumber, subSequenceNumber: r.subSequenceNumber };
            }
          },
          leaseLost: () => {},
          shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
          shutdownRequested: () => {},
        }),
      });
      const running = start(ts);
      await waitFor(() => seen, 'ts-kcl takes the dead Java worker’s lease', 30000, 100);
      assert.deepEqual(seen!.pendingCheckpointSequenceNumber, { sequenceNumber: prepared.seq, subSequenceNumber: prepared.sub });
      // ts-kcl prepares at the fourth user record of a new aggregate and stops without releasing; Java is told.
      await putAggregate('t');
      await waitFor(() => preparedByTs, 'ts-kcl prepares a checkpoint', 30000, 100);
      await ts.shutdown();
      await running;
      fleet.spawnJava(java, 'java-prep-2', { stream, app, endpoints: env.clientConfig.endpoints, cbor: true, failoverMs: FAILOVER_MS });
      const init = await waitFor(() => fleet.of('java-prep-2', 'init')[0], 'Java takes the expired lease', 90000, 100);
      assert.deepEqual({ seq: init.pending, sub: init.pendingSub }, { seq: preparedByTs!.sequenceNumber, sub: preparedByTs!.subSequenceNumber });
      fleet.kill('java-prep-2', 'SIGKILL');
    });
  });
}
