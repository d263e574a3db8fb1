import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startDynalite, type LocalServer } from '../../src/local/local-servers.ts';
import { silentLogger, type Logger } from '../../src/common/logger.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { loadLeaseAssignmentData } from '../../src/assignment/lease-assignment-data.ts';
import { updateWorkerMetricStats } from '../../src/workermetrics/worker-metric-stats-dao.ts';
import { MigrationStateMachine, type MigrationRuntime } from '../../src/migration/migration-state-machine.ts';
import { MigrationStateDao } from '../../src/migration/migration-state-dao.ts';
import { clientVersionConfigOf } from '../../src/migration/client-version-behaviour.ts';
import { fromMigrationStateItem, updateMigrationState, type ClientVersion, type ClientVersionConfig } from '../../src/migration/migration-state.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { testLease } from '../support/leases.ts';
import { credentials, region, uniqueName, waitFor } from '../support/env.ts';

/*
 * The client-version state machine over a real lease table (dynalite), two or three workers with fake
 * runtimes that record every switch. Monitor periods are shortened (100 ms, Java: 1 min) and the
 * readiness window too (300 ms, Java: 10 min); the rules are Java 3.5.1's.
 */
const INTERVAL_MS = 100;
const STABILITY_MS = 300;
const REQUEST_TIMEOUT_MS = 10_000;

class FakeRuntime implements MigrationRuntime {
  readonly calls: string[] = [];
  leaderChecks = 0;
  indexCreations = 0;
  constructor(
    private readonly leader: boolean,
    private readonly load: MigrationRuntime['loadAssignmentData'],
  ) {}
  setLeaseAssignmentMode(mode: '2.x' | '3.x'): void {
    this.calls.push(`mode:${mode}`);
  }
  setWorkerMetricsReporting(on: boolean): void {
    this.calls.push(`metrics:${on}`);
  }
  setLeaderDecider(decider: '2.x' | '3.x'): void {
    this.calls.push(`leader:${decider}`);
  }
  createLeaseOwnerToLeaseKeyIndexIfNotExists(): Promise<void> {
    this.indexCreations++;
    return Promise.resolve();
  }
  isLeader(): Promise<boolean> {
    this.leaderChecks++;
    return Promise.resolve(this.leader);
  }
  loadAssignmentData(): ReturnType<MigrationRuntime['loadAssignmentData']> {
    return this.load();
  }
}

describe('client-version migration state machine (dynalite)', () => {
  let server: LocalServer;
  let client: DynamoDBClient;
  const shutdown = new AbortController();
  const machines: MigrationStateMachine[] = [];
  before(async () => {
    server = await startDynalite();
    client = new DynamoDBClient({ region, credentials, endpoint: server.endpoint });
  });
  after(async () => {
    shutdown.abort();
    await Promise.all(machines.map((m) => m.stop()));
    client?.destroy();
    await server?.stop();
  });

  /** The lease table as KCL 3.x creates it: leaseKey plus the LeaseOwnerToLeaseKeyIndex (dynalite cannot add it later). */
  async function leaseTable(): Promise<string> {
    const tableName = uniqueName('migration');
    const refresher = new DynamoDBLeaseRefresher(client, tableName, 'PROVISIONED');
    await refresher.createLeaseTableIfNotExists(undefined, { withOwnerIndex: true });
    await refresher.waitUntilLeaseTableExists(10000);
    return tableName;
  }

  function worker(
    tableName: string,
    workerId: string,
    config: ClientVersionConfig,
    leader = false,
    via: { client: DynamoDBClient; logger: Logger } = { client, logger: silentLogger },
  ): { machine: MigrationStateMachine; runtime: FakeRuntime } {
    const runtime = new FakeRuntime(leader, () => loadLeaseAssignmentData({ client, tableName, requestTimeoutMs: REQUEST_TIMEOUT_MS, abortSignal: shutdown.signal }));
    const machine = new MigrationStateMachine({
      client: via.client,
      tableName,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      signal: shutdown.signal,
      workerId,
      config,
      runtime,
      logger: via.logger,
      monitorIntervalMs: INTERVAL_MS,
      readyStabilityMs: STABILITY_MS,
    });
    machines.push(machine);
    return { machine, runtime };
  }

  const storedItem = async (tableName: string): Promise<Record<string, AttributeValue> | undefined> =>
    (await client.send(new GetItemCommand({ TableName: tableName, Key: { leaseKey: { S: 'Migration3.0' } }, ConsistentRead: true }))).Item;
  const stored = async (tableName: string) => fromMigrationStateItem((await storedItem(tableName)) ?? {});

  /** What the KCL migration tool does for a rollback or roll-forward: a conditional update of cv, mb, mts and the history. */
  async function writeAsMigrationTool(tableName: string, version: ClientVersion): Promise<void> {
    const dao = new MigrationStateDao({ client, tableName, requestTimeoutMs: REQUEST_TIMEOUT_MS, signal: shutdown.signal });
    const now = (await dao.get())!;
    assert.equal(await dao.updateIfClientVersion(updateMigrationState(now, version, 'kcl-migration-tool', Date.now()), now.clientVersion), true);
  }

  const publishMetrics = (tableName: string, workerId: string) =>
    updateWorkerMetricStats({ client, tableName, form: 'leaseTable', requestTimeoutMs: REQUEST_TIMEOUT_MS }, { workerId, lastUpdateTime: Math.floor(Date.now() / 1000), metricStats: { C: [20] }, operatingRange: { C: [100] } });

  const bothAt = (a: MigrationStateMachine, b: MigrationStateMachine, version: ClientVersion) => () => a.currentClientVersion() === version && b.currentClientVersion() === version;

  it('a fresh table with clientVersion 3.x starts in CLIENT_VERSION_3X and writes it once', async () => {
    const tableName = await leaseTable();
    const a = worker(tableName, 'worker-a', clientVersionConfigOf('3.x'));
    const b = worker(tableName, 'worker-b', clientVersionConfigOf('3.x'));
    assert.equal(await a.machine.initialize(), 'CLIENT_VERSION_3X');
    assert.equal(await b.machine.initialize(), 'CLIENT_VERSION_3X');
    const item = await storedItem(tableName);
    // Java's create: entityType, cv, mb, mts and the INIT entry in the history; worker-b found it and wrote nothing.
    assert.equal(item?.entityType?.S, 'CLIENT_VERSION_MIGRATION');
    const state = fromMigrationStateItem(item ?? {});
    assert.equal(state?.clientVersion, 'CLIENT_VERSION_3X');
    assert.equal(state?.modifiedBy, 'worker-a');
    assert.deepEqual(state?.history.map((h) => h.lastClientVersion), ['CLIENT_VERSION_INIT']);
    assert.deepEqual(a.runtime.calls, ['metrics:true', 'mode:3.x', 'leader:3.x']);
    assert.deepEqual(b.runtime.calls, ['metrics:true', 'mode:3.x', 'leader:3.x']);
    await Promise.all([a.machine.stop(), b.machine.stop()]);
  });

  it('the passive default (Phase 1) writes nothing, then joins the migration a compatible worker starts', async () => {
    const tableName = await leaseTable();
    const passive = worker(tableName, 'worker-p', 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1');
    assert.equal(await passive.machine.initialize(), 'CLIENT_VERSION_INIT');
    assert.equal(await storedItem(tableName), undefined, 'no Migration3.0 item: Java 2.x workers read every item as a lease');
    assert.deepEqual(passive.runtime.calls, ['metrics:false', 'mode:2.x', 'leader:2.x']);
    const starter = worker(tableName, 'worker-s', clientVersionConfigOf('compatible-with-2.x'));
    assert.equal(await starter.machine.initialize(), 'CLIENT_VERSION_UPGRADE_FROM_2X');
    await waitFor(() => passive.machine.currentClientVersion() === 'CLIENT_VERSION_UPGRADE_FROM_2X', 'the passive worker to follow', 10000);
    assert.ok(passive.runtime.calls.includes('metrics:true'), 'it publishes its metrics, so the fleet can become ready');
    await Promise.all([passive.machine.stop(), starter.machine.stop()]);
  });

  describe('a fresh table with compatible-with-2.x, upgraded, rolled back and forward, then moved to 3X', () => {
    let tableName: string;
    let a: ReturnType<typeof worker>;
    let b: ReturnType<typeof worker>;

    it('both workers start in UPGRADE_FROM_2X: the taker, worker metrics published, the 2.x leader', async () => {
      tableName = await leaseTable();
      const leases = new DynamoDBLeaseRefresher(client, tableName);
      await leases.createLeaseIfNotExists(testLease('shardId-000000000000', 'worker-a'));
      await leases.createLeaseIfNotExists(testLease('shardId-000000000001', 'worker-b'));
      a = worker(tableName, 'worker-a', clientVersionConfigOf('compatible-with-2.x'), true);
      b = worker(tableName, 'worker-b', clientVersionConfigOf('compatible-with-2.x'));
      const [va, vb] = await Promise.all([a.machine.initialize(), b.machine.initialize()]); // racing creates: one wins, the other reads it
      assert.equal(va, 'CLIENT_VERSION_UPGRADE_FROM_2X');
      assert.equal(vb, 'CLIENT_VERSION_UPGRADE_FROM_2X');
      assert.equal((await stored(tableName))?.clientVersion, 'CLIENT_VERSION_UPGRADE_FROM_2X');
      assert.deepEqual(a.runtime.calls, ['metrics:true', 'mode:2.x', 'leader:2.x']);
      assert.deepEqual(b.runtime.calls, ['metrics:true', 'mode:2.x', 'leader:2.x']);
    });

    it('the leader flips to 3X_WITH_ROLLBACK only once every lease owner has published metrics for the stable period; the other worker follows', async () => {
      // Only the leader checks; with no metrics, several checks change nothing.
      await waitFor(() => a.runtime.leaderChecks >= 4, 'the leader to check readiness 4 times', 10_000);
      await publishMetrics(tableName, 'worker-a');
      const checks = a.runtime.leaderChecks;
      await waitFor(() => a.runtime.leaderChecks >= checks + 6, 'the leader to check readiness 6 more times (past the stable period)', 10_000);
      assert.equal((await stored(tableName))?.clientVersion, 'CLIENT_VERSION_UPGRADE_FROM_2X', 'worker-b owns a lease and publishes nothing yet');
      assert.equal(b.runtime.leaderChecks > 0, true);

      const allReportingAt = Date.now();
      await publishMetrics(tableName, 'worker-b');
      await waitFor(bothAt(a.machine, b.machine, 'CLIENT_VERSION_3X_WITH_ROLLBACK'), 'both workers in 3X_WITH_ROLLBACK', 15_000);
      const state = await stored(tableName);
      assert.equal(state?.modifiedBy, 'worker-a'); // the leader wrote the flip
      assert.ok(state.modifiedTimestamp - allReportingAt >= STABILITY_MS, `flipped ${state.modifiedTimestamp - allReportingAt} ms after every owner reported`);
      assert.deepEqual(state?.history.map((h) => h.lastClientVersion), ['CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_INIT']);
      for (const w of [a, b]) assert.deepEqual(w.runtime.calls.slice(3), ['mode:3.x', 'leader:3.x']);
      assert.equal(a.runtime.indexCreations, 0); // the index was there from the start
    });

    it('a rollback written by the KCL migration tool (cv=2X) switches both back to 2.x and stops their metrics', async () => {
      await writeAsMigrationTool(tableName, 'CLIENT_VERSION_2X');
      await waitFor(bothAt(a.machine, b.machine, 'CLIENT_VERSION_2X'), 'both workers in 2X', 10_000);
      for (const w of [a, b]) assert.deepEqual(w.runtime.calls.slice(5), ['metrics:false', 'mode:2.x', 'leader:2.x']);
    });

    it('a roll-forward (cv=UPGRADE_FROM_2X) brings both back, and the leader flips again once ready', async () => {
      await publishMetrics(tableName, 'worker-a');
      await publishMetrics(tableName, 'worker-b');
      await writeAsMigrationTool(tableName, 'CLIENT_VERSION_UPGRADE_FROM_2X');
      await waitFor(() => a.runtime.calls.length >= 9 && b.runtime.calls.length >= 9, 'both workers to switch metrics back on', 10_000);
      for (const w of [a, b]) assert.deepEqual(w.runtime.calls.slice(8, 9), ['metrics:true']);
      await waitFor(bothAt(a.machine, b.machine, 'CLIENT_VERSION_3X_WITH_ROLLBACK'), 'both workers in 3X_WITH_ROLLBACK again', 15_000);
      const state = await stored(tableName);
      assert.deepEqual(state?.history.slice(0, 2).map((h) => h.lastClientVersion), ['CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_2X']);
      for (const w of [a, b]) assert.deepEqual(w.runtime.calls.slice(9), ['mode:3.x', 'leader:3.x']);
    });

    it('a worker configured 3.x moves the fleet from 3X_WITH_ROLLBACK to 3X; the others follow', async () => {
      const c = worker(tableName, 'worker-c', clientVersionConfigOf('3.x'));
      assert.equal(await c.machine.initialize(), 'CLIENT_VERSION_3X');
      const state = await stored(tableName);
      assert.equal(state?.clientVersion, 'CLIENT_VERSION_3X');
      assert.equal(state?.modifiedBy, 'worker-c');
      await waitFor(bothAt(a.machine, b.machine, 'CLIENT_VERSION_3X'), 'both workers in 3X', 10_000);
      // 3X from 3X_WITH_ROLLBACK changes no component (initializeClientVersionFor3x does nothing then).
      for (const w of [a, b]) assert.equal(w.runtime.calls.length, 11);
      assert.deepEqual(c.runtime.calls, ['metrics:true', 'mode:3.x', 'leader:3.x']);
      await Promise.all([a.machine.stop(), b.machine.stop(), c.machine.stop()]);
      assert.equal(a.machine.currentClientVersion(), 'CLIENT_VERSION_3X');
    });
  });

  it('reads the item Java 3.5.1 wrote: the stored version wins over the configuration', async () => {
    const fixture = (name: string) => (JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as { items: Record<string, Record<string, AttributeValue>> }).items['other:CLIENT_VERSION_MIGRATION']!;
    const upgrading = await leaseTable();
    await client.send(new PutItemCommand({ TableName: upgrading, Item: fixture('java-kcl-3.5.1-leases.json') }));
    // Any configuration + UPGRADE_FROM_2X stays UPGRADE_FROM_2X (MigrationClientVersionStateInitializer's table); nothing is written.
    const a = worker(upgrading, 'worker-a', clientVersionConfigOf('3.x'));
    assert.equal(await a.machine.initialize(), 'CLIENT_VERSION_UPGRADE_FROM_2X');
    assert.deepEqual(await storedItem(upgrading), fixture('java-kcl-3.5.1-leases.json'));
    assert.deepEqual(a.runtime.calls, ['metrics:true', 'mode:2.x', 'leader:2.x']);
    await a.machine.stop();

    const upgraded = await leaseTable();
    await client.send(new PutItemCommand({ TableName: upgraded, Item: fixture('java-kcl-3.5.1-3x-leases.json') }));
    const b = worker(upgraded, 'worker-b', clientVersionConfigOf('compatible-with-2.x'));
    assert.equal(await b.machine.initialize(), 'CLIENT_VERSION_3X');
    assert.equal((await stored(upgraded))?.modifiedBy, 'java-fixture');
    await b.machine.stop();
  });

  it('decides a conditional write whose answer was lost by reading the item back', async () => {
    const tableName = await leaseTable();
    const proxy = new FaultProxy(server.endpoint);
    const proxied = new DynamoDBClient({ region, credentials, endpoint: await proxy.start(), maxAttempts: 1 });
    try {
      const dao = new MigrationStateDao({ client: proxied, tableName, requestTimeoutMs: REQUEST_TIMEOUT_MS, signal: shutdown.signal });
      const initial = updateMigrationState({ clientVersion: 'CLIENT_VERSION_INIT', modifiedBy: 'w', modifiedTimestamp: 1, history: [] }, 'CLIENT_VERSION_UPGRADE_FROM_2X', 'w', 2);
      // The create lands, its answer is lost: the re-read finds this worker's write, a success.
      proxy.inject('DynamoDB_20120810.PutItem', 'reset-after');
      assert.equal(await dao.createIfNotExists(initial), true);
      assert.equal(proxy.faulted('DynamoDB_20120810.PutItem'), 1);
      // A second create finds the item: false, not an error.
      assert.equal(await dao.createIfNotExists({ ...initial, modifiedBy: 'other' }), false);
      // The same for an update; and an update on a version no longer stored is a lost race.
      const flipped = updateMigrationState(initial, 'CLIENT_VERSION_3X_WITH_ROLLBACK', 'w', 3);
      proxy.inject('DynamoDB_20120810.UpdateItem', 'reset-after');
      assert.equal(await dao.updateIfClientVersion(flipped, 'CLIENT_VERSION_UPGRADE_FROM_2X'), true);
      assert.equal(await dao.updateIfClientVersion(updateMigrationState(initial, 'CLIENT_VERSION_2X', 'w', 4), 'CLIENT_VERSION_UPGRADE_FROM_2X'), false);
      assert.deepEqual(await dao.get(), flipped);
      // A write that never reached the table is still an error.
      proxy.inject('DynamoDB_20120810.UpdateItem', 'destroy');
      await assert.rejects(dao.updateIfClientVersion(updateMigrationState(flipped, 'CLIENT_VERSION_2X', 'w', 5), 'CLIENT_VERSION_3X_WITH_ROLLBACK'));
      assert.equal((await dao.get())?.clientVersion, 'CLIENT_VERSION_3X_WITH_ROLLBACK');
    } finally {
      proxied.destroy();
      await proxy.stop();
    }
  });

  it('a failed monitor read is logged as a warning and retried the next period', async () => {
    const tableName = await leaseTable();
    const dao = new MigrationStateDao({ client, tableName, requestTimeoutMs: REQUEST_TIMEOUT_MS, signal: shutdown.signal });
    const upgraded = updateMigrationState(updateMigrationState({ clientVersion: 'CLIENT_VERSION_INIT', modifiedBy: 'w', modifiedTimestamp: 1, history: [] }, 'CLIENT_VERSION_UPGRADE_FROM_2X', 'w', 2), 'CLIENT_VERSION_3X_WITH_ROLLBACK', 'w', 3);
    assert.equal(await dao.createIfNotExists(upgraded), true);
    const proxy = new FaultProxy(server.endpoint);
    const proxied = new DynamoDBClient({ region, credentials, endpoint: await proxy.start(), maxAttempts: 1 });
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (obj: object | string, msg?: string) => void warnings.push(msg ?? (typeof obj === 'string' ? obj : JSON.stringify(obj))) };
    try {
      const a = worker(tableName, 'worker-a', clientVersionConfigOf('compatible-with-2.x'), false, { client: proxied, logger });
      assert.equal(await a.machine.initialize(), 'CLIENT_VERSION_3X_WITH_ROLLBACK');
      proxy.inject('DynamoDB_20120810.GetItem', 'destroy', { times: 2 });
      await writeAsMigrationTool(tableName, 'CLIENT_VERSION_2X');
      await waitFor(() => a.machine.currentClientVersion() === 'CLIENT_VERSION_2X', 'the worker to follow the rollback past two failed reads', 10_000);
      assert.equal(proxy.faulted('DynamoDB_20120810.GetItem'), 2);
      assert.equal(warnings.filter((w) => w.includes('client version change monitor failed')).length, 2, warnings.join('; '));
      await a.machine.stop();
    } finally {
      proxied.destroy();
      await proxy.stop();
    }
  });

  it('does not flip while the lease table has no LeaseOwnerToLeaseKeyIndex; the leader asks for it each period', async () => {
    const tableName = uniqueName('migration-no-index');
    const leases = new DynamoDBLeaseRefresher(client, tableName);
    await leases.createLeaseTableIfNotExists();
    await leases.waitUntilLeaseTableExists(10_000);
    await leases.createLeaseIfNotExists(testLease('shardId-000000000000', 'worker-a'));
    await publishMetrics(tableName, 'worker-a');
    const a = worker(tableName, 'worker-a', clientVersionConfigOf('compatible-with-2.x'), true);
    assert.equal(await a.machine.initialize(), 'CLIENT_VERSION_UPGRADE_FROM_2X');
    // Past the stable period several times over: every owner reports, but gsiStatusReady is false.
    await waitFor(() => a.runtime.indexCreations >= 8, 'the leader to ask for the index 8 times', 10_000);
    assert.equal(a.machine.currentClientVersion(), 'CLIENT_VERSION_UPGRADE_FROM_2X');
    assert.equal((await stored(tableName))?.clientVersion, 'CLIENT_VERSION_UPGRADE_FROM_2X');
    await a.machine.stop();
  });
});
