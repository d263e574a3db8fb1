// Issue 16: a 2.x-compatible fleet of the Java KCL 3.5.1 and ts-kcl upgraded to 3.x through the client-
// version states of the `Migration3.0` item, as Java drives them: both start compatible with 2.x
// (CLIENT_VERSION_UPGRADE_FROM_2X: 2.x taker, deterministic 2.x leader, worker metrics published); the
// 2.x leader (ts-kcl here, with a short stable period: Java's is a fixed 10 minutes) flips the fleet to
// CLIENT_VERSION_3X_WITH_ROLLBACK once every lease owner reports metrics; Java's running worker follows on
// its own (ClientVersionChangeMonitor: every minute, up to 30 s of jitter); then the Java worker is
// redeployed with clientVersion 3x and writes CLIENT_VERSION_3X, which the running ts-kcl worker follows.
// Records flow all along: none is lost. Its own file: up to 90 s of it is Java's monitor period.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, waitFor, makeRecords, type TestEnv, type PutResult } from '../support/env.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { isLeader } from '../../src/leases/leader-decider.ts';
import type { Lease } from '../../src/leases/lease.ts';
import type { JavaWorkerBuild } from './java-build.ts';
import { javaOrSkip, knownJavaError, skipOrFail } from './java-toolchain.ts';
import { Fleet } from './fleet.ts';
import { FAILOVER_MS, KCL3_JAVA, LEASE_ASSIGNMENT_INTERVAL_MS, LOCK, SAMPLING } from './kcl3-settings.ts';

const SHARDS = 4;
const MIGRATION_LOGGER = 'software.amazon.kinesis.coordinator.migration';
/** Java's ClientVersionChangeMonitor: a read every minute after up to half a minute of jitter. */
const JAVA_MONITOR_MS = 60000 + 30000;
/** ts-kcl reads Migration3.0 every second and flips after 15 s ready (time for Java to join and own leases first) (Java: 1 minute and 10 minutes). Spread from a
 *  constant: coordinator.clientVersionMigration is newer than this file's branch point. */
const MIGRATION_PERIODS = { clientVersionMigration: { monitorIntervalMs: 1000, readyStabilityMs: 15000 } };

describe('a 2.x-compatible fleet of the Java KCL 3.5.1 and ts-kcl upgraded to 3.x', () => {
  let env: TestEnv;
  let build: JavaWorkerBuild | string | undefined;
  const fleet = new Fleet();
  before(async () => {
    env = await startEnv('kinesis-local');
    build = await javaOrSkip('3.5.1');
  });
  after(async () => {
    await fleet.stopAll();
    if (process.env.DEBUG_MIG) for (const e of fleet.events.filter((x) => x.t !== 'rec' && x.t !== 'cp')) console.log(JSON.stringify(e).slice(0, 400));
    await env?.close();
  });

  it('goes UPGRADE_FROM_2X -> 3X_WITH_ROLLBACK (flipped by ts-kcl, followed by Java) -> 3X (written by Java, followed by ts-kcl), nothing lost', async (t) => {
    if (!skipOrFail(t, build)) return;
    const java = build;
    const stream = uniqueName('upgrade');
    const app = uniqueName('upgrade-app');
    await createStream(env.kinesis, stream, SHARDS);
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    // ts-kcl must be the 2.x leader (Java's deterministic shuffle of the lease owners): only the leader flips.
    // With two owners the shuffle's pick depends only on the sort order: try names on both sides of 'java-1'.
    const tsId = ['ts-1', 'a-ts-1'].find((id) => isLeader(id, [id, 'java-1'].map((o) => ({ leaseOwner: o }) as Lease)));
    assert.ok(tsId, 'a ts-kcl worker id that Java’s shuffle makes the 2.x leader');
    const migration = async (): Promise<Record<string, AttributeValue> | undefined> =>
      (await env.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: 'Migration3.0' } }, ConsistentRead: true }))).Item;
    const cv = async (): Promise<string | undefined> => (await migration())?.cv?.S;
    const timings: Record<string, number> = {};
    const t0 = Date.now();
    const mark = (name: string): void => void (timings[name] = Date.now() - t0);
    const javaOpts = { stream, app, endpoints: env.clientConfig.endpoints, cbor: true, failoverMs: FAILOVER_MS, maxLeasesToStealAtOneTime: 2, kcl3: KCL3_JAVA, infoLoggers: [MIGRATION_LOGGER] };
    const produced: PutResult[] = [];
    let batch = 0;
    const produce = async (): Promise<void> => void produced.push(...(await putRecords(env.kinesis, stream, makeRecords(16, `u${++batch}`, 16))));
    const allDelivered = (what: string): Promise<unknown> => waitFor(() => produced.every((p) => fleet.delivered().has(p.data)), `${what}: every record delivered`, 60000, 100);

    // 1. ts-kcl compatible with 2.x: it creates the table (with the owner index) and starts the fleet in UPGRADE_FROM_2X.
    //    Both report no metric (Java selects none off EC2): their items are there, empty, as the readiness rule needs.
    fleet.spawnTs({
      workerId: tsId,
      applicationName: app,
      streamName: stream,
      clientConfig: env.clientConfig,
      initialPosition: 'TRIM_HORIZON',
      logWarnings: true,
      clientVersion: 'compatible-with-2.x',
      retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200 },
      coordinator: { parentShardPollIntervalMs: 200, initializationBackoffMs: 200, ...MIGRATION_PERIODS },
      lease: {
        failoverTimeMs: FAILOVER_MS,
        takerIntervalMs: 500,
        shardSyncIntervalMs: 2000,
        maxLeasesToStealAtOneTime: 2,
        leaseAssignmentIntervalMs: LEASE_ASSIGNMENT_INTERVAL_MS,
        workerUtilizationAwareAssignment: { disableWorkerMetrics: true, workerMetricsReporterFreqMs: SAMPLING.reporterFrequencyMillis, inMemoryWorkerMetricsCaptureFrequencyMs: SAMPLING.captureFrequencyMillis },
        leaderLock: { leaseDurationMs: LOCK.leaseDurationMillis, heartbeatPeriodMs: LOCK.heartbeatPeriodMillis },
      },
    });
    await waitFor(async () => (await cv()) === 'CLIENT_VERSION_UPGRADE_FROM_2X', 'ts-kcl starts the fleet in UPGRADE_FROM_2X', 60000, 200);
    mark('UPGRADE_FROM_2X');
    // 2. Java compatible with 2.x joins; the 2.x takers share the leases. The flip may come as soon as both own leases.
    fleet.spawnJava(java, 'java-1', { ...javaOpts, clientVersion: 'compat' });
    await waitFor(() => fleet.of('java-1', 'init').length > 0, 'Java takes leases with the 2.x taker', 90000, 100);
    mark('java holds leases');
    await produce();

    // 3. ts-kcl, the 2.x leader, flips the fleet once every lease owner has live metrics for the stable period.
    await waitFor(async () => (await cv()) === 'CLIENT_VERSION_3X_WITH_ROLLBACK', 'ts-kcl flips the fleet to 3X_WITH_ROLLBACK', 60000, 200);
    mark('3X_WITH_ROLLBACK');
    const flipped = await migration();
    assert.equal(flipped?.mb?.S, tsId, 'flipped by the ts-kcl leader');
    await produce();
    // 4. The running Java worker follows on its own.
    await waitFor(() => fleet.of('java-1', 'log').some((e) => String(e.msg).includes('Successfully transitioned to CLIENT_VERSION_3X_WITH_ROLLBACK')), 'Java follows to 3X_WITH_ROLLBACK', JAVA_MONITOR_MS + 15000, 200);
    mark('java in 3X_WITH_ROLLBACK');
    await produce();
    await allDelivered('in 3X_WITH_ROLLBACK');

    // 5. Java redeployed with clientVersion 3x (a graceful stop first): it writes 3X; the running ts-kcl worker follows.
    fleet.kill('java-1', 'SIGTERM');
    await fleet.exited('java-1');
    fleet.spawnJava(java, 'java-2', { ...javaOpts, clientVersion: '3x' });
    await waitFor(async () => (await cv()) === 'CLIENT_VERSION_3X', 'the 3.x-configured Java worker moves the fleet to 3X', 60000, 200);
    mark('3X');
    const done = await migration();
    assert.equal(done?.mb?.S, 'java-2');
    const history = done?.h?.L?.map((h) => `${h.M?.cv?.S} by ${h.M?.mb?.S}`) ?? [];
    t.diagnostic(`Migration3.0 history: ${JSON.stringify(history)}`);
    for (const left of ['CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK']) assert.ok(history.some((h) => h.startsWith(`${left} `)), `the history names ${left}`);
    await produce();
    await allDelivered('in 3X');
    const leases = await refresher.listLeases();
    assert.equal(leases.length, SHARDS);
    t.diagnostic(`timings (ms): ${JSON.stringify(timings)}; owners at the end: ${JSON.stringify(leases.map((l) => l.leaseOwner))}`);
    // Between the flip and Java's following it (its monitor reads every 60-90 s) the fleet runs both
    // schemes, as a Java-only fleet does: a lease Java's 2.x taker steals makes the ts-kcl processor's
    // checkpoint fail with ShutdownException, which this test's processor rethrows (an ERROR line). That
    // is the processor contract, not a fault; anything else is.
    const refusedCheckpoint = (e: (typeof fleet.events)[number]): boolean =>
      e.t === 'log' && String(e.msg).startsWith("Record processor's processRecords threw") &&
      fleet.events.some((f) => f.t === 'cpFail' && f.w === e.w && f.shardId === e.shardId && String(f.error).startsWith('ShutdownException') && f.at <= e.at && e.at - f.at < 2000);
    assert.deepEqual(
      fleet.events.filter((e) => e.t === 'crash' || e.t === 'fatal' || (e.t === 'log' && e.level === 'error' && !knownJavaError(e) && !refusedCheckpoint(e))).map((e) => `${e.w}: ${String(e.msg)} ${JSON.stringify(e)}`),
      [],
    );
  });
});
