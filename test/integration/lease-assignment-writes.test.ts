import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite, type LocalServer } from '../../src/local/local-servers.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { toItem } from '../../src/leases/dynamodb/lease-serializer.ts';
import { applyLeaseAssignments, assignLease, initiateGracefulLeaseHandoff, type LeaseAssignmentTable } from '../../src/assignment/lease-assignment-writes.ts';
import { loadLeaseAssignmentData } from '../../src/assignment/lease-assignment-data.ts';
import { decideLeaseAssignments, DEFAULT_LEASE_ASSIGNMENT_CONFIG, initialAssignmentMemory } from '../../src/assignment/lease-assignment-decisions.ts';
import { updateWorkerMetricStats, type WorkerMetricStatsTable } from '../../src/workermetrics/worker-metric-stats-dao.ts';
import { testLease } from '../support/leases.ts';
import { credentials, region, uniqueName } from '../support/env.ts';

/*
 * The 3.x leader's two writes, conditional as Java's DynamoDBLeaseRefresher makes them (see the
 * lease-operation table): assignLease = owner := new, checkpointOwner removed, counter + 1, when owner and
 * checkpointOwner are as scanned and the lease exists; initiateGracefulLeaseHandoff = owner := new,
 * checkpointOwner := old, no counter bump, when the old owner holds it and no handoff is pending.
 */
describe('3.x lease assignment writes (dynalite)', () => {
  let server: LocalServer;
  let client: DynamoDBClient;
  let table: LeaseAssignmentTable;
  before(async () => {
    server = await startDynalite();
    client = new DynamoDBClient({ region, credentials, endpoint: server.endpoint });
    const tableName = uniqueName('assign');
    const refresher = new DynamoDBLeaseRefresher(client, tableName);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(10000);
    table = { client, tableName, requestTimeoutMs: 10000 };
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  const put = async (leaseKey: string, leaseOwner?: string, checkpointOwner?: string) => {
    const item = toItem(testLease(leaseKey, leaseOwner));
    if (checkpointOwner !== undefined) item.checkpointOwner = { S: checkpointOwner };
    await client.send(new PutItemCommand({ TableName: table.tableName, Item: item }));
  };
  const get = async (leaseKey: string) => {
    const item = (await client.send(new GetItemCommand({ TableName: table.tableName, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true }))).Item;
    return item && { owner: item.leaseOwner?.S, checkpointOwner: item.checkpointOwner?.S, counter: Number(item.leaseCounter?.N), switches: Number(item.ownerSwitchesSinceCheckpoint?.N), checkpoint: item.checkpoint?.S };
  };

  it('assignLease gives an unassigned lease to its new owner and bumps the counter', async () => {
    await put('s-1');
    const written = await assignLease(table, { leaseKey: 's-1', leaseCounter: 1 }, 'w1');
    assert.deepEqual(written, { leaseKey: 's-1', leaseOwner: 'w1', leaseCounter: 2, ownerSwitchesSinceCheckpoint: 0 });
    assert.deepEqual(await get('s-1'), { owner: 'w1', checkpointOwner: undefined, counter: 2, switches: 0, checkpoint: 'TRIM_HORIZON' });
  });

  it('assignLease refuses when the owner moved since the scan, and never creates a deleted lease', async () => {
    await put('s-2', 'w2');
    assert.equal(await assignLease(table, { leaseKey: 's-2', leaseOwner: 'w1', leaseCounter: 1 }, 'w3'), undefined);
    assert.equal((await get('s-2'))?.owner, 'w2');
    // A lease scanned unassigned and deleted since: "no owner" holds on a missing item, "leaseKey exists" does not.
    assert.equal(await assignLease(table, { leaseKey: 's-gone', leaseCounter: 1 }, 'w1'), undefined);
    assert.equal(await get('s-gone'), undefined);
  });

  it('initiateGracefulLeaseHandoff names the new owner and keeps the old one as checkpoint owner, without a counter bump', async () => {
    await put('s-3', 'w1');
    const written = await initiateGracefulLeaseHandoff(table, { leaseKey: 's-3', leaseOwner: 'w1', leaseCounter: 1 }, 'w2');
    assert.deepEqual(written, { leaseKey: 's-3', leaseOwner: 'w2', checkpointOwner: 'w1', leaseCounter: 1, ownerSwitchesSinceCheckpoint: 0 });
    // A second handoff of the same scan is refused: one is pending (checkpointOwner exists).
    assert.equal(await initiateGracefulLeaseHandoff(table, { leaseKey: 's-3', leaseOwner: 'w1', leaseCounter: 1 }, 'w3'), undefined);
    // The old owner's renewal is not disturbed: the counter it renews against did not move.
    await client.send(new UpdateItemCommand({ TableName: table.tableName, Key: { leaseKey: { S: 's-3' } }, UpdateExpression: 'SET leaseCounter = :n', ConditionExpression: 'leaseCounter = :c', ExpressionAttributeValues: { ':n': { N: '2' }, ':c': { N: '1' } } }));
    // The old owner checkpointed and ends the handoff: assignLease to the new owner, as scanned (owner w2,
    // checkpointOwner w1): checkpointOwner removed, counter + 1; no owner switch (leaseOwner already w2).
    const done = await assignLease(table, { leaseKey: 's-3', leaseOwner: 'w2', checkpointOwner: 'w1', leaseCounter: 2 }, 'w2');
    assert.deepEqual(done, { leaseKey: 's-3', leaseOwner: 'w2', leaseCounter: 3, ownerSwitchesSinceCheckpoint: 0 });
  });

  it('assignLease of a lease stuck in a handoff back to its checkpoint owner counts an owner switch', async () => {
    // Java getDynamoTakeLeaseUpdate: ADD ownerSwitchesSinceCheckpoint when checkpointOwner equals the new owner.
    await put('s-4', 'w2', 'w1');
    const written = await assignLease(table, { leaseKey: 's-4', leaseOwner: 'w2', checkpointOwner: 'w1', leaseCounter: 1 }, 'w1');
    assert.deepEqual(written, { leaseKey: 's-4', leaseOwner: 'w1', leaseCounter: 2, ownerSwitchesSinceCheckpoint: 1 });
    // A handoff pending with another checkpoint owner than scanned is refused.
    await put('s-5', 'w2', 'w9');
    assert.equal(await assignLease(table, { leaseKey: 's-5', leaseOwner: 'w2', checkpointOwner: 'w1', leaseCounter: 1 }, 'w3'), undefined);
  });

  it('one leader run end to end: scan leases and worker metrics, decide, write the handoff', async () => {
    const tableName = uniqueName('lam');
    const refresher = new DynamoDBLeaseRefresher(client, tableName);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(10000);
    const leaseTable: LeaseAssignmentTable = { client, tableName, requestTimeoutMs: 10000 };
    const legacyName = uniqueName('lam-WorkerMetricStats');
    await client.send(new CreateTableCommand({ TableName: legacyName, AttributeDefinitions: [{ AttributeName: 'wid', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'wid', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
    const legacy: WorkerMetricStatsTable = { client, tableName: legacyName, form: 'workerMetricsTable', requestTimeoutMs: 10000 };
    const inLeaseTable: WorkerMetricStatsTable = { client, tableName, form: 'leaseTable', requestTimeoutMs: 10000 };
    // The figures of the unit case "moves the dampened excess of the hottest worker": w1 (CPU 80) holds a 10,
    // b 20, c 30 KBps; w2 (40) holds d 20; w3 (30) holds e 20 -> a goes to w3 by graceful handoff.
    for (const [key, owner, kbps] of [['a', 'w1', 10], ['b', 'w1', 20], ['c', 'w1', 30], ['d', 'w2', 20], ['e', 'w3', 20]] as const) {
      const item = toItem(testLease(key, owner));
      item.throughputKBps = { N: String(kbps) };
      await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
    }
    // Items that share the 3.5 lease table and are not leases.
    await client.send(new PutItemCommand({ TableName: tableName, Item: { leaseKey: { S: 'Leader' }, entityType: { S: 'LEADER' }, ownerName: { S: 'w1' } } }));
    const lut = Math.floor(Date.now() / 1000);
    const stats = (workerId: string, cpu: number) => ({ workerId, lastUpdateTime: lut, metricStats: { C: [cpu] }, operatingRange: { C: [100] } });
    await updateWorkerMetricStats(legacy, stats('w1', 80));
    await updateWorkerMetricStats(legacy, stats('w2', 40));
    await updateWorkerMetricStats(inLeaseTable, stats('w3', 30)); // a worker already on the single table

    const data = await loadLeaseAssignmentData(leaseTable, legacy);
    assert.deepEqual(data.leases.map((l) => `${l.leaseKey}:${l.leaseOwner}:${l.throughputKBps}`).sort(), ['a:w1:10', 'b:w1:20', 'c:w1:30', 'd:w2:20', 'e:w3:20']);
    assert.deepEqual(data.workerMetrics.map((w) => w.workerId).sort(), ['w1', 'w2', 'w3']);
    // Scan order is the table's: sort leases so the (unshuffled) pick is the unit case's.
    data.leases.sort((x, y) => x.leaseKey.localeCompare(y.leaseKey));
    const now = () => performance.now() * 1e6;
    const config = DEFAULT_LEASE_ASSIGNMENT_CONFIG;
    const decisions = decideLeaseAssignments({ ...data, config, memory: initialAssignmentMemory(), nowNanos: now(), nowEpochMillis: Date.now(), random: { nextInt: (n: number) => n - 1 } });
    assert.deepEqual(decisions.assignments.map((a) => `${a.lease.leaseKey}->${a.newOwner}:${a.mode}`), ['a->w3:gracefulHandoff']);
    const applied = await applyLeaseAssignments(leaseTable, decisions, config, now);
    assert.deepEqual([applied.failed, applied.errors], [[], []]);
    const a = (await client.send(new GetItemCommand({ TableName: tableName, Key: { leaseKey: { S: 'a' } }, ConsistentRead: true }))).Item;
    assert.deepEqual([a?.leaseOwner?.S, a?.checkpointOwner?.S, a?.leaseCounter?.N], ['w3', 'w1', '1']);
    // The leader remembers the pending handoff and its timeout (now + 30 s handoff + 10 s lease duration).
    const remembered = applied.memory.leases.get('a');
    assert.equal(remembered?.checkpointOwner, 'w1');
    assert.ok((remembered?.checkpointOwnerTimeoutTimestampMillis ?? 0) > performance.now() + 39_000);
    // Writing the same decisions again is refused by the handoff's condition (a handoff is pending).
    const again = await applyLeaseAssignments(leaseTable, decisions, config, now);
    assert.deepEqual(again.failed, ['a']);
  });
});
