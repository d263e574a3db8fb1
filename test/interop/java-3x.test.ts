// Issue 16: the real Java KCL 3.5.1 in its own 3.x mode beside ts-kcl's 3.x building blocks (no ts-kcl
// Scheduler): the items Java writes on a fresh table, the Leader lock respected both ways between
// Java's DynamoDB lock client and ts-kcl's (src/leader), and a ts-kcl-written WORKER_METRIC_STATS item
// (src/workermetrics, lease-table form) taken by the Java leader for a live worker it assigns leases to.
// Short intervals throughout (Kcl3Config in the Java worker): Java's defaults are 30 s to 2 minutes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ScanCommand, DescribeTableCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, waitFor, listShards, makeRecords, type TestEnv } from '../support/env.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { newLease } from '../../src/leases/hierarchical-shard-syncer.ts';
import { TRIM_HORIZON } from '../../src/retrieval/extended-sequence-number.ts';
import { DynamoDBLockClient } from '../../src/leader/dynamodb-lock-client.ts';
import { DynamoDBLockBasedLeaderDecider, LEADER_HASH_KEY } from '../../src/leader/dynamodb-lock-based-leader-decider.ts';
import { WorkerMetricStatsManager } from '../../src/workermetrics/worker-metric-stats-manager.ts';
import { WorkerMetricStatsReporter } from '../../src/workermetrics/worker-metric-stats-reporter.ts';
import { selectCpuWorkerMetric } from '../../src/workermetrics/cpu-worker-metric.ts';
import { silentLogger } from '../../src/common/logger.ts';
import type { JavaWorkerBuild } from './java-build.ts';
import { javaOrSkip, skipOrFail } from './java-toolchain.ts';
import { Fleet, createTableWith3xIndex } from './fleet.ts';
import { FAILOVER_MS, JAVA_LEADER_LOGGER, KCL3_JAVA, LOCK, SAMPLING } from './kcl3-settings.ts';

/** Off EC2/ECS/EKS Java reports no metric, and its leader then gives every unassigned lease to such a worker
 *  (utilization NaN) before any worker that reports CPU: Java reports the host's CPU here, ts-kcl its own. */
const JAVA_3X = { ...KCL3_JAVA, workerMetrics: 'cpu' } as const;

type Item = Record<string, AttributeValue>;

describe('the Java KCL 3.5.1 in 3.x mode beside ts-kcl’s leader lock and worker metrics', () => {
  let env: TestEnv;
  let build: JavaWorkerBuild | string | undefined;
  const fleet = new Fleet();
  const stops: (() => Promise<void>)[] = [];
  before(async () => {
    env = await startEnv('kinesis-local');
    build = await javaOrSkip('3.5.1');
  });
  after(async () => {
    for (const stop of stops) await stop().catch(() => {});
    if (process.env.DEBUG_J3X) for (const e of fleet.events.filter((x) => x.t === 'log')) console.log(String(e.msg).slice(0, 600));
    await fleet.stopAll();
    await env?.close();
  });

  it('writes its 3.x items, waits for a ts-kcl leader, takes over when it dies, assigns leases to a ts-kcl-reported worker, and its own lock is respected', async (t) => {
    if (!skipOrFail(t, build)) return;
    const java = build;
    const stream = uniqueName('j3x');
    const app = uniqueName('j3x-app');
    await createStream(env.kinesis, stream, 4);
    await createTableWith3xIndex(env.dynamodb, app);
    // The shards' leases up front, as a ts-kcl shard sync writes them (no entityType: Java reads those as leases):
    // else Java's first start waits 1 to 30 s (random) for an empty table to fill before syncing itself.
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    for (const s of await listShards(env.kinesis, stream)) {
      await refresher.createLeaseIfNotExists(newLease({ shardId: s.ShardId!, hashKeyRange: { startingHashKey: s.HashKeyRange!.StartingHashKey!, endingHashKey: s.HashKeyRange!.EndingHashKey! } }, TRIM_HORIZON));
    }
    const scan = async (): Promise<Item[]> => (await env.dynamodb.send(new ScanCommand({ TableName: app, ConsistentRead: true }))).Items ?? [];
    const item = async (key: string): Promise<Item | undefined> => (await scan()).find((i) => i.leaseKey?.S === key);
    const owners = async (): Promise<Map<string, string | undefined>> => new Map((await refresher.listLeases()).map((l) => [l.leaseKey, l.leaseOwner]));
    const lockClient = (owner: string): DynamoDBLockClient =>
      new DynamoDBLockClient({ client: env.dynamodb, tableName: app, partitionKeyName: 'leaseKey', ownerName: owner, ...LOCK, requestTimeoutMillis: 5000, logger: silentLogger });
    const timings: Record<string, number> = {};

    // 1. ts-kcl holds the Leader lock (heartbeating) and publishes a worker's metrics, as a ts-kcl 3.x worker would.
    const tsLock = lockClient('ts-leader');
    const tsLeader = new DynamoDBLockBasedLeaderDecider(tsLock, LOCK.heartbeatPeriodMillis, silentLogger);
    tsLeader.initialize();
    stops.push(() => tsLock.stopHeartbeats());
    assert.equal(await tsLeader.isLeader(), true, 'ts-kcl takes the free Leader lock');
    const manager = new WorkerMetricStatsManager([selectCpuWorkerMetric()], SAMPLING);
    const reporter = new WorkerMetricStatsReporter({ workerId: 'ts-worker', manager, sampling: SAMPLING, table: { client: env.dynamodb, tableName: app, form: 'leaseTable', requestTimeoutMs: 5000 }, logger: silentLogger });
    manager.start();
    reporter.start();
    stops.push(async () => {
      manager.stop();
      await reporter.stop();
    });

    // 2. Java in 3.x mode: its migration item and its worker metrics, but no leadership and so no assignment.
    const startedAt = Date.now();
    fleet.spawnJava(java, 'java-1', { stream, app, endpoints: env.clientConfig.endpoints, cbor: true, failoverMs: FAILOVER_MS, clientVersion: '3x', kcl3: JAVA_3X, infoLoggers: [JAVA_LEADER_LOGGER, ...(process.env.DEBUG_J3X ? ['software.amazon.kinesis.coordinator.assignment'] : [])] });
    const migration = await waitFor(() => item('Migration3.0'), 'Java writes Migration3.0', 60000, 200);
    assert.equal(migration.cv?.S, 'CLIENT_VERSION_3X');
    assert.equal(migration.entityType?.S, 'CLIENT_VERSION_MIGRATION');
    assert.equal(migration.mb?.S, 'java-1');
    assert.deepEqual(migration.h?.L?.map((h) => h.M?.cv?.S), ['CLIENT_VERSION_INIT'], 'history: the state it left');
    const metrics = await waitFor(() => item('java-1'), 'Java publishes its WORKER_METRIC_STATS item', 30000, 200);
    assert.equal(metrics.entityType?.S, 'WORKER_METRIC_STATS');
    assert.equal(metrics.sup?.N, '1');
    timings['java start -> its metrics'] = Date.now() - startedAt;
    const checksOfTs = (): number => fleet.of('java-1', 'log').filter((e) => String(e.msg).includes('Worker : ts-leader is the current Leader.')).length;
    await waitFor(() => checksOfTs() >= 3, 'Java checks the Leader lock three times and finds ts-kcl’s', 30000, 100);
    assert.deepEqual([...(await owners()).values()].filter(Boolean), [], 'no lease assigned while ts-kcl leads (Java takes none itself in 3.x)');
    assert.equal(fleet.of('java-1', 'init').length, 0);
    assert.equal((await item(LEADER_HASH_KEY))?.ownerName?.S, 'ts-leader');
    const tsMetrics = await item('ts-worker');
    assert.equal(tsMetrics?.entityType?.S, 'WORKER_METRIC_STATS', 'ts-kcl’s reporter writes the lease-table form');

    // 3. ts-kcl's leader dies (heartbeats stop, nothing released): Java takes the lock once it has watched
    //    one version for the stored lease duration, then assigns every lease, some to the ts-kcl-reported worker.
    await tsLock.stopHeartbeats();
    const died = Date.now();
    await waitFor(async () => (await item(LEADER_HASH_KEY))?.ownerName?.S === 'java-1', 'Java takes the Leader lock', 30000, 100);
    timings['ts leader dies -> java holds the lock'] = Date.now() - died;
    // Not before a lease duration from the last heartbeat (which came up to a heartbeat period before the death).
    assert.ok(timings['ts leader dies -> java holds the lock'] >= LOCK.leaseDurationMillis - LOCK.heartbeatPeriodMillis - 500, `not before the lock's lease duration (${timings['ts leader dies -> java holds the lock']} ms)`);
    const leader = await item(LEADER_HASH_KEY);
    assert.deepEqual({ leaseDuration: leader?.leaseDuration?.S, entityType: leader?.entityType?.S }, { leaseDuration: String(LOCK.leaseDurationMillis), entityType: 'LEADER' });
    const assigned = await waitFor(async () => {
      const o = await owners();
      return [...o.values()].every(Boolean) ? o : undefined;
    }, 'the Java leader assigns every lease', 30000, 200);
    timings['java holds the lock -> all assigned'] = Date.now() - died - timings['ts leader dies -> java holds the lock'];
    t.diagnostic(`first assignment: ${JSON.stringify(Object.fromEntries(assigned))}`);
    assert.ok([...assigned.values()].includes('ts-worker'), 'the ts-kcl-reported worker is live for the Java leader: it gets leases');

    // 4. The ts-kcl worker goes silent (metrics stop, its leases are never renewed): the Java leader gives them to Java.
    manager.stop();
    await reporter.stop();
    const silent = Date.now();
    await waitFor(async () => [...(await owners()).values()].every((o) => o === 'java-1'), 'Java reassigns the silent worker’s leases to itself', 30000, 200);
    timings['ts worker silent -> its leases reassigned'] = Date.now() - silent;
    await waitFor(() => new Set(fleet.of('java-1', 'init').map((e) => e.shardId)).size === 4, 'Java processes every shard', 30000, 100);
    const records = makeRecords(40, 'j3x');
    await putRecords(env.kinesis, stream, records);
    await waitFor(() => records.every((r) => fleet.delivered().has(r.data)), 'Java delivers every record', 30000, 100);

    // 5. Java's lock is respected by ts-kcl for longer than a lease duration (its heartbeats keep it), and taken at its death.
    const contender = lockClient('ts-contender');
    const tsDecider = new DynamoDBLockBasedLeaderDecider(contender, LOCK.heartbeatPeriodMillis, silentLogger);
    stops.push(() => contender.stopHeartbeats());
    const watchUntil = Date.now() + LOCK.leaseDurationMillis + 2 * LOCK.heartbeatPeriodMillis;
    while (Date.now() < watchUntil) {
      assert.equal(await tsDecider.isLeader(), false, 'ts-kcl respects the Java leader’s live lock');
      await new Promise((r) => setTimeout(r, 250));
    }
    fleet.kill('java-1', 'SIGKILL');
    await fleet.exited('java-1');
    const javaDied = Date.now();
    await waitFor(() => tsDecider.isLeader(), 'ts-kcl takes the dead Java leader’s lock', 30000, 250);
    timings['java leader dies -> ts holds the lock'] = Date.now() - javaDied;
    assert.ok(timings['java leader dies -> ts holds the lock'] >= LOCK.leaseDurationMillis - LOCK.heartbeatPeriodMillis - 500, `not before the lock's lease duration (${timings['java leader dies -> ts holds the lock']} ms)`);
    assert.equal((await item(LEADER_HASH_KEY))?.ownerName?.S, 'ts-contender');
    assert.deepEqual(fleet.events.filter((e) => e.t === 'log' && e.level === 'error').map((e) => String(e.msg)), [], 'no Java ERROR line');
    t.diagnostic(`timings (ms): ${JSON.stringify(timings)}`);
    const gsi = (await env.dynamodb.send(new DescribeTableCommand({ TableName: app }))).Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName);
    assert.deepEqual(gsi, ['LeaseOwnerToLeaseKeyIndex']);
  });
});
