import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite, type LocalServer } from '../../src/local/local-servers.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { toItem } from '../../src/leases/dynamodb/lease-serializer.ts';
import { initiateGracefulLeaseHandoff } from '../../src/assignment/lease-assignment-writes.ts';
import { LeaseRenewer } from '../../src/leases/lease-renewer.ts';
import { LeaseDiscoverer } from '../../src/leases/lease-discoverer.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { testLease } from '../support/leases.ts';
import { credentials, region, uniqueName, waitFor } from '../support/env.ts';

/*
 * The worker's side of KCL 3.x on a real table: renewals that notice a graceful handoff the leader
 * started and keep the old owner renewing until it hands over, the hand-over write itself, and
 * discovery of assigned leases through the LeaseOwnerToLeaseKeyIndex GSI.
 */
describe('KCL 3.x worker-side lease writes (dynalite)', () => {
  let server: LocalServer;
  let client: DynamoDBClient;
  let refresher: DynamoDBLeaseRefresher;
  let tableName: string;
  before(async () => {
    server = await startDynalite();
    client = new DynamoDBClient({ region, credentials, endpoint: server.endpoint });
    tableName = uniqueName('kcl3w');
    refresher = new DynamoDBLeaseRefresher(client, tableName, 'PAY_PER_REQUEST', 10000);
    assert.equal(await refresher.createLeaseTableIfNotExists(undefined, { withOwnerIndex: true }), true);
    await refresher.waitUntilLeaseTableExists(10000);
    assert.equal(await refresher.ownerIndexStatus(), 'ACTIVE');
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  const put = (leaseKey: string, leaseOwner?: string) => client.send(new PutItemCommand({ TableName: tableName, Item: toItem(testLease(leaseKey, leaseOwner)) }));
  const get = async (leaseKey: string) => {
    const item = (await client.send(new GetItemCommand({ TableName: tableName, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true }))).Item;
    return item && { owner: item.leaseOwner?.S, checkpointOwner: item.checkpointOwner?.S, counter: Number(item.leaseCounter?.N), kbps: item.throughputKBps?.N };
  };
  const renewer = (workerId: string) => new LeaseRenewer(refresher, workerId, 10000, silentLogger, new Metrics('NONE', [], silentLogger), () => undefined);

  it('a renewal adopts a handoff the leader started, keeps renewing as checkpoint owner, and the release hands the lease over', async () => {
    await put('h-1', 'old');
    const r = renewer('old');
    const handoffs: string[] = [];
    r.onHandoffRequested = (key, newOwner) => handoffs.push(`${key}->${newOwner}`);
    const held = r.add((await refresher.getLease('h-1'))!);
    await r.renewLeases();
    assert.equal((await get('h-1'))?.counter, 2);

    // The leader moves it: owner := new, checkpointOwner := old, no counter bump.
    assert.ok(await initiateGracefulLeaseHandoff({ client, tableName, requestTimeoutMs: 10000 }, { leaseKey: 'h-1', leaseOwner: 'old', leaseCounter: 2 }, 'new'));
    await r.renewLeases();
    assert.deepEqual(handoffs, ['h-1->new'], 'the old owner is told once its renewal sees the handoff');
    assert.ok(r.getCurrentlyHeldLease('h-1'), 'still held: the old owner may checkpoint');
    assert.deepEqual(await get('h-1'), { owner: 'new', checkpointOwner: 'old', counter: 3, kbps: undefined });
    // Checkpoints still land (conditional on the counter this worker holds).
    assert.equal(await r.updateLease('h-1', held.concurrencyToken, (l) => (l.checkpoint = { sequenceNumber: '49', subSequenceNumber: 0 })), true);
    await r.renewLeases();
    assert.equal(handoffs.length, 2, 'every renewal during the handoff reports it (the handler dedups)');

    // Hand-over: the checkpoint owner goes, the new owner stays, the counter moves.
    assert.equal(await r.releaseLease('h-1', 10000), true);
    assert.deepEqual(await get('h-1'), { owner: 'new', checkpointOwner: undefined, counter: 6, kbps: undefined });
  });

  it('a plain renewal fails once another worker owns the lease, even with the counter unchanged', async () => {
    await put('h-2', 'a');
    const lost: string[] = [];
    const r2 = new LeaseRenewer(refresher, 'a', 10000, silentLogger, new Metrics('NONE', [], silentLogger), (key) => lost.push(key));
    r2.add((await refresher.getLease('h-2'))!);
    await put('h-2', 'b'); // counter still 1: only the owner condition can catch it
    await r2.renewLeases();
    assert.deepEqual(lost, ['h-2']);
  });

  it('renewals write throughputKBps once recording is on, from the bytes of the batches read', async () => {
    await put('h-3', 'w');
    const r = renewer('w');
    r.recordThroughputOver(1000);
    const held = r.add((await refresher.getLease('h-3'))!);
    await r.renewLeases();
    assert.equal((await get('h-3'))?.kbps, undefined, 'no batch read yet: no throughput (as Java)');
    held.recordBytes(2048);
    await r.renewLeases();
    assert.equal((await get('h-3'))?.kbps, '2', '2 KiB over a 1 s renewal interval');
    held.recordBytes(0);
    await r.renewLeases();
    assert.equal((await get('h-3'))?.kbps, '1', 'smoothed with alpha 0.5');
  });

  it('discovery finds the leases assigned to this worker through the GSI, not those still in a handoff', async () => {
    await put('d-1', 'me');
    await put('d-2', 'me');
    await put('d-3', 'other');
    await client.send(new PutItemCommand({ TableName: tableName, Item: { ...toItem(testLease('d-4', 'me')), checkpointOwner: { S: 'other' } } }));
    const discoverer = new LeaseDiscoverer(refresher, 'me', silentLogger, new Metrics('NONE', [], silentLogger));
    const found = await waitFor(async () => {
      const leases = await discoverer.discoverNewLeases(new Set(['d-2']), AbortSignal.timeout(10000));
      return leases.length > 0 ? leases : undefined;
    }, 'the GSI to show the assigned leases');
    assert.deepEqual(found.map((l) => l.leaseKey), ['d-1'], 'd-2 is held already, d-3 is not mine, d-4 waits for its old owner');
  });
});
