import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynalite, type LocalServer } from '../../src/local/local-servers.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { LeaseRenewer } from '../../src/leases/lease-renewer.ts';
import { DynamoDBCheckpointer } from '../../src/checkpoint/dynamodb-checkpointer.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { silentLogger } from '../../src/common/logger.ts';
import type { Lease } from '../../src/leases/lease.ts';
import { ShutdownException } from '../../src/index.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { credentials, region, uniqueName, waitFor } from '../support/env.ts';

const lease = (leaseKey: string): Lease => ({
  leaseKey,
  leaseCounter: 0,
  checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
  ownerSwitchesSinceCheckpoint: 0,
  parentShardIds: [],
  childShardIds: [],
});

describe('lease renewal and loss against DynamoDB (dynalite)', () => {
  let server: LocalServer;
  let proxy: FaultProxy;
  let direct: DynamoDBClient;
  let viaProxy: DynamoDBClient;
  before(async () => {
    server = await startDynalite();
    proxy = new FaultProxy(server.endpoint);
    const endpoint = await proxy.start();
    direct = new DynamoDBClient({ region, credentials, endpoint: server.endpoint });
    viaProxy = new DynamoDBClient({ region, credentials, endpoint, maxAttempts: 2 });
  });
  after(async () => {
    direct?.destroy();
    viaProxy?.destroy();
    await proxy?.stop();
    await server?.stop();
  });

  const table = async (): Promise<{ mine: DynamoDBLeaseRefresher; other: DynamoDBLeaseRefresher }> => {
    const name = uniqueName('leases');
    const mine = new DynamoDBLeaseRefresher(viaProxy, name);
    await mine.createLeaseTableIfNotExists();
    await mine.waitUntilLeaseTableExists(10000);
    return { mine, other: new DynamoDBLeaseRefresher(direct, name) };
  };

  const renewerFor = (refresher: DynamoDBLeaseRefresher, failoverTimeMs: number, lost: string[]): LeaseRenewer =>
    new LeaseRenewer(refresher, 'worker-a', failoverTimeMs, silentLogger, new Metrics('NONE', [], silentLogger), (key) => lost.push(key));

  it('renews with a conditional counter bump, and loses the lease the moment another worker takes it', async () => {
    const { mine, other } = await table();
    const l = lease('shard-1');
    await mine.createLeaseIfNotExists(l);
    assert.equal(await mine.takeLease(l, 'worker-a'), true);
    const lost: string[] = [];
    const renewer = renewerFor(mine, 10000, lost);
    renewer.add(l);
    await renewer.renewLeases();
    assert.equal((await other.getLease('shard-1'))!.leaseCounter, 2);
    const stolen = (await other.getLease('shard-1'))!;
    assert.equal(await other.takeLease(stolen, 'worker-b'), true);
    assert.equal((await other.getLease('shard-1'))!.ownerSwitchesSinceCheckpoint, 1, 'an owner switch is counted');
    await renewer.renewLeases();
    assert.deepEqual(lost, ['shard-1']);
    assert.equal(renewer.getCurrentlyHeldLease('shard-1'), undefined);
  });

  it('counts a renewal that landed but whose answer was lost as a success (re-read after the failed condition)', async () => {
    const { mine, other } = await table();
    const l = lease('shard-2');
    await mine.createLeaseIfNotExists(l);
    await mine.takeLease(l, 'worker-a');
    const lost: string[] = [];
    const renewer = renewerFor(mine, 10000, lost);
    renewer.add(l);
    proxy.inject('DynamoDB_20120810.UpdateItem', { status: 500, type: 'InternalServerError', afterForwarding: true });
    await renewer.renewLeases();
    assert.deepEqual(lost, [], 'not lost: the retry failed its condition only because the first try landed');
    assert.equal((await other.getLease('shard-2'))!.leaseCounter, 2);
    assert.ok(renewer.getCurrentlyHeldLease('shard-2'));
  });

  it('reports a round whose renewals fail as one WARN with the count, not one line per lease', async () => {
    const { mine } = await table();
    const keys = ['shard-w1', 'shard-w2', 'shard-w3', 'shard-w4', 'shard-w5'];
    const warnings: { obj: object; msg: string }[] = [];
    const logger = { ...silentLogger, warn: (obj: object | string, msg?: string) => void warnings.push(typeof obj === 'string' ? { obj: {}, msg: obj } : { obj, msg: msg ?? '' }) };
    const renewer = new LeaseRenewer(mine, 'worker-a', 10000, logger, new Metrics('NONE', [], silentLogger), () => undefined);
    for (const key of keys) {
      const l = lease(key);
      await mine.createLeaseIfNotExists(l);
      await mine.takeLease(l, 'worker-a');
      renewer.add(l);
    }
    // Every renewal of the round fails (a ValidationException is not retried by the SDK).
    proxy.inject('DynamoDB_20120810.UpdateItem', { status: 400, type: 'ValidationException', message: 'injected' }, { times: keys.length });
    await renewer.renewLeases();
    assert.equal(warnings.length, 1, `one WARN for the round: ${JSON.stringify(warnings)}`);
    const [warning] = warnings;
    assert.equal((warning!.obj as { failed: number }).failed, keys.length);
    assert.deepEqual([...(warning!.obj as { leaseKeys: string[] }).leaseKeys].sort(), keys);
    assert.equal(renewer.heldCount(), keys.length, 'a failed call is not a loss: the next round retries');
    await renewer.renewLeases();
    assert.equal(warnings.length, 1, 'a round that succeeds says nothing');
  });

  it('does not renew, nor checkpoint, a lease that expired locally', async () => {
    const { mine, other } = await table();
    const l = lease('shard-3');
    await mine.createLeaseIfNotExists(l);
    await mine.takeLease(l, 'worker-a');
    const lost: string[] = [];
    const renewer = renewerFor(mine, 300, lost);
    const held = renewer.add(l);
    const checkpointer = new DynamoDBCheckpointer(renewer);
    await waitFor(() => renewer.getCurrentlyHeldLease('shard-3') === undefined, 'local expiry', 2000, 20);
    await assert.rejects(checkpointer.setCheckpoint('shard-3', { sequenceNumber: '1', subSequenceNumber: 0 }, held.concurrencyToken), ShutdownException);
    const counter = (await other.getLease('shard-3'))!.leaseCounter;
    await renewer.renewLeases();
    assert.deepEqual(lost, ['shard-3']);
    assert.equal((await other.getLease('shard-3'))!.leaseCounter, counter, 'no write for an expired lease');
  });

  it('gives a lease up the moment it expires locally, not at the next renewal round', async () => {
    const { mine } = await table();
    const l = lease('shard-6');
    await mine.createLeaseIfNotExists(l);
    await mine.takeLease(l, 'worker-a');
    const lost: string[] = [];
    const renewer = renewerFor(mine, 300, lost);
    const t0 = performance.now();
    renewer.add(l);
    // No renewal round runs at all: the expiry alone must stop the shard.
    await waitFor(() => lost.length > 0, 'the lease given up at its expiry', 2000, 10);
    const ms = performance.now() - t0;
    assert.deepEqual(lost, ['shard-6']);
    assert.ok(ms >= 300 && ms < 600, `given up ${Math.round(ms)} ms after the last renewal (failover 300 ms)`);
    assert.equal(renewer.heldCount(), 0);
  });

  it('a stale processor (an earlier acquisition token) cannot checkpoint over its successor', async () => {
    const { mine, other } = await table();
    const l = lease('shard-4');
    await mine.createLeaseIfNotExists(l);
    await mine.takeLease(l, 'worker-a');
    const renewer = renewerFor(mine, 10000, []);
    const first = renewer.add(l);
    const checkpointer = new DynamoDBCheckpointer(renewer);
    await checkpointer.setCheckpoint('shard-4', { sequenceNumber: '100', subSequenceNumber: 0 }, first.concurrencyToken);
    // Lost and taken again by the same worker: a new acquisition, a new token.
    renewer.drop('shard-4');
    const again = (await other.getLease('shard-4'))!;
    await mine.takeLease(again, 'worker-a');
    const second = renewer.add(again);
    assert.notEqual(second.concurrencyToken, first.concurrencyToken);
    await checkpointer.setCheckpoint('shard-4', { sequenceNumber: '200', subSequenceNumber: 0 }, second.concurrencyToken);
    await assert.rejects(checkpointer.setCheckpoint('shard-4', { sequenceNumber: '150', subSequenceNumber: 0 }, first.concurrencyToken), ShutdownException);
    assert.equal((await other.getLease('shard-4'))!.checkpoint.sequenceNumber, '200');
  });

  it('renewal calls carry a deadline: a hung DynamoDB cannot keep a lease past its expiry', async () => {
    const { mine } = await table();
    const l = lease('shard-5');
    await mine.createLeaseIfNotExists(l);
    await mine.takeLease(l, 'worker-a');
    const lost: string[] = [];
    const renewer = renewerFor(mine, 400, lost);
    renewer.add(l);
    proxy.inject('DynamoDB_20120810.UpdateItem', 'hang', { times: 5 });
    const t0 = Date.now();
    await renewer.renewLeases();
    assert.ok(Date.now() - t0 < 1000, `the renewal was cut at the lease's expiry (took ${Date.now() - t0} ms)`);
    // The call was cut when the lease expired (give or take a timer tick): the next round gives it up.
    await waitFor(() => renewer.getCurrentlyHeldLease('shard-5') === undefined, 'local expiry', 2000, 10);
    await renewer.renewLeases();
    assert.deepEqual(lost, ['shard-5'], 'then the lease is given up, not held on a hung call');
  });
});
