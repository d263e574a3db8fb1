import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite, type LocalServer } from '../../src/local/local-servers.ts';
import { DynamoDBLockClient, LockNotGrantedError } from '../../src/leader/dynamodb-lock-client.ts';
import { DynamoDBLockBasedLeaderDecider, LEADER_HASH_KEY } from '../../src/leader/dynamodb-lock-based-leader-decider.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { credentials, region, uniqueName, waitFor } from '../support/env.ts';

/*
 * The 3.x leader lock on the CoordinatorState table's `Leader` item, with the semantics of
 * com.amazonaws:dynamodb-lock-client (AmazonDynamoDBLockClient): conditional writes on the record
 * version number, and takeover only after the same version has been observed for a lease duration.
 */
describe('lock-based leader on the Leader item (dynalite)', () => {
  let server: LocalServer;
  let client: DynamoDBClient;
  before(async () => {
    server = await startDynalite();
    client = new DynamoDBClient({ region, credentials, endpoint: server.endpoint });
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  async function coordinatorStateTable(): Promise<string> {
    const tableName = uniqueName('app-CoordinatorState');
    await client.send(new CreateTableCommand({ TableName: tableName, AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
    return tableName;
  }
  const leaderItem = async (tableName: string) => (await client.send(new GetItemCommand({ TableName: tableName, Key: { key: { S: LEADER_HASH_KEY } }, ConsistentRead: true }))).Item;
  const lockClient = (tableName: string, ownerName: string, leaseDurationMillis: number, heartbeatPeriodMillis: number, clock?: () => number) =>
    new DynamoDBLockClient({ client, tableName, partitionKeyName: 'key', ownerName, leaseDurationMillis, heartbeatPeriodMillis, logger: silentLogger, ...(clock ? { clock } : {}) });

  it('one contender wins; the other takes over only after the holder stops heartbeating for a lease duration', async () => {
    const tableName = await coordinatorStateTable();
    // Generous against a loaded machine: 15 heartbeats per lease duration.
    const leaseDuration = 1500;
    const heartbeat = 100;
    const aLocks = lockClient(tableName, 'worker-a', leaseDuration, heartbeat);
    const a = new DynamoDBLockBasedLeaderDecider(aLocks, heartbeat, silentLogger);
    const b = new DynamoDBLockBasedLeaderDecider(lockClient(tableName, 'worker-b', leaseDuration, heartbeat), heartbeat, silentLogger);
    a.initialize();
    b.initialize();
    try {
      assert.equal(await a.isLeader(), true);
      assert.equal(await b.isLeader(), false);
      const first = await leaderItem(tableName);
      // The Java lock client's attributes, plus LeaderLock's entityType.
      assert.equal(first?.ownerName?.S, 'worker-a');
      assert.equal(first?.leaseDuration?.S, '1500');
      assert.equal(first?.entityType?.S, 'LEADER');
      assert.ok(first?.recordVersionNumber?.S);

      // While A heartbeats, B keeps asking for 2 lease durations and never wins; A's version keeps moving.
      const until = performance.now() + 2 * leaseDuration;
      while (performance.now() < until) {
        assert.equal(await b.isLeader(), false);
        assert.equal(await a.isLeader(), true);
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.notEqual((await leaderItem(tableName))?.recordVersionNumber?.S, first.recordVersionNumber.S);

      // A stops heartbeating (a crash, as B sees it): B takes over, but only once the version of A's last
      // heartbeat has been unchanged for a full lease duration (B cannot have seen it before A sent it).
      await aLocks.stopHeartbeats();
      const lastBeatSentAt = (await aLocks.getLock(LEADER_HASH_KEY))!.lookupTimeMillis;
      await waitFor(() => b.isLeader(), 'B to take the leader lock', 10 * leaseDuration, 20);
      const waited = performance.now() - lastBeatSentAt;
      assert.ok(waited > leaseDuration, `took over ${Math.round(waited)} ms after A's last heartbeat`);
      assert.equal((await leaderItem(tableName))?.ownerName?.S, 'worker-b');
      // A's own copy has expired and the stored version is B's: A respects it.
      assert.equal(await a.isLeader(), false);

      // B shuts down: the lock is deleted (deleteLockOnRelease) and A wins it at once.
      await b.shutdown();
      assert.equal(await leaderItem(tableName), undefined);
      await waitFor(() => a.isLeader(), 'A to take the released lock', 5000, 20);
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  });

  it('counts the lease duration from its own first sight of a version, and heartbeats fail once the lock is taken', async () => {
    const tableName = await coordinatorStateTable();
    let now = 1_000_000;
    const clock = () => now;
    const holder = lockClient(tableName, 'worker-a', 1000, 100, clock);
    const contender = lockClient(tableName, 'worker-b', 1000, 100, clock);
    const held = await holder.tryAcquireLock(LEADER_HASH_KEY);
    assert.ok(held);
    assert.equal(await contender.tryAcquireLock(LEADER_HASH_KEY), undefined); // first sight: the clock starts
    now += 1000;
    assert.equal(await contender.tryAcquireLock(LEADER_HASH_KEY), undefined); // exactly a lease duration: not yet
    await holder.sendHeartbeat(held); // a heartbeat: new version, B's clock restarts
    now += 1001;
    assert.equal(await contender.tryAcquireLock(LEADER_HASH_KEY), undefined); // new version, first sight
    now += 1001;
    const taken = await contender.tryAcquireLock(LEADER_HASH_KEY); // same version for > a lease duration
    assert.equal(taken?.ownerName, 'worker-b');
    // A's heartbeat is conditional on the version it wrote: refused, and A forgets the lock. (Its local copy is
    // made fresh so the refusal comes from DynamoDB's condition, not from A's own expiry check.)
    held.lookupTimeMillis = now;
    await assert.rejects(holder.sendHeartbeat(held), LockNotGrantedError);
    assert.equal(await holder.releaseLock(held), false);
    assert.equal((await leaderItem(tableName))?.ownerName?.S, 'worker-b');
    await holder.close();
    await contender.close();
    assert.equal(await leaderItem(tableName), undefined);
  });

  it('a release waits for a heartbeat in flight on the same lock, and still deletes the lock', async () => {
    const tableName = await coordinatorStateTable();
    const locks = lockClient(tableName, 'worker-a', 5000, 100);
    for (let i = 0; i < 5; i++) {
      const lock = await locks.tryAcquireLock(LEADER_HASH_KEY);
      assert.ok(lock);
      // The heartbeat is sent first and rewrites the version; the release must use the new one.
      const [, released] = await Promise.all([locks.sendHeartbeat(lock), locks.releaseLock(lock)]);
      assert.equal(released, true);
      assert.equal(await leaderItem(tableName), undefined);
    }
    await locks.close();
  });
});
