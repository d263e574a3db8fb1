import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, credentials, region, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { TRIM_HORIZON, esn } from '../../src/retrieval/extended-sequence-number.ts';
import type { Lease } from '../../src/leases/lease.ts';
import type { WorkerState } from '../../src/index.ts';

const UPDATE_ITEM = 'DynamoDB_20120810.UpdateItem';
const SEQ = '49590338271490256608559692538361571095921575989136588898';

const newLease = (leaseKey: string): Lease => ({ leaseKey, leaseCounter: 0, checkpoint: TRIM_HORIZON, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] });

describe('lease table faults (kinesalite, dynalite)', () => {
  let env: TestEnv;
  let proxy: FaultProxy;
  let viaProxy: DynamoDBClient;
  before(async () => {
    env = await startEnv('kinesalite');
    proxy = new FaultProxy(env.servers.dynamodb.endpoint);
    viaProxy = new DynamoDBClient({ region, credentials, endpoint: await proxy.start() });
  });
  after(async () => {
    viaProxy?.destroy();
    await proxy?.stop();
    await env?.close();
  });

  const table = async (): Promise<{ mine: DynamoDBLeaseRefresher; direct: DynamoDBLeaseRefresher; name: string }> => {
    const name = uniqueName('table');
    const direct = new DynamoDBLeaseRefresher(env.dynamodb, name);
    await direct.createLeaseTableIfNotExists();
    await direct.waitUntilLeaseTableExists(10000);
    return { mine: new DynamoDBLeaseRefresher(viaProxy, name), direct, name };
  };

  describe('a conditional write that landed but lost its answer is a success, not a lost race', () => {
    // The proxy forwards the write, then answers 500 in place of the real answer: the SDK retries, and the
    // retry fails the condition that the first attempt already changed.
    const answerLost = (): void => proxy.inject(UPDATE_ITEM, { status: 500, type: 'InternalServerError', afterForwarding: true });

    it('takeLease', async () => {
      const { mine, direct } = await table();
      await direct.createLeaseIfNotExists(newLease('shard-1'));
      const lease = (await mine.getLease('shard-1'))!;
      answerLost();
      assert.equal(await mine.takeLease(lease, 'me'), true);
      assert.equal(lease.leaseOwner, 'me');
      const stored = (await direct.getLease('shard-1'))!;
      assert.equal(stored.leaseOwner, 'me');
      assert.equal(stored.leaseCounter, lease.leaseCounter);
    });

    it('updateLease (a checkpoint)', async () => {
      const { mine, direct } = await table();
      await direct.createLeaseIfNotExists(newLease('shard-1'));
      const lease = (await mine.getLease('shard-1'))!;
      assert.ok(await mine.takeLease(lease, 'me'));
      lease.checkpoint = esn(SEQ);
      answerLost();
      assert.equal(await mine.updateLease(lease), true);
      assert.deepEqual((await direct.getLease('shard-1'))!.checkpoint, esn(SEQ));
    });

    it('evictLease', async () => {
      const { mine, direct } = await table();
      await direct.createLeaseIfNotExists(newLease('shard-1'));
      const lease = (await mine.getLease('shard-1'))!;
      assert.ok(await mine.takeLease(lease, 'me'));
      answerLost();
      assert.equal(await mine.evictLease(lease), true);
      assert.equal((await direct.getLease('shard-1'))!.leaseOwner, undefined);
    });

    it('while a real lost race is still a lost race', async () => {
      const { mine, direct } = await table();
      await direct.createLeaseIfNotExists(newLease('shard-1'));
      const lease = (await mine.getLease('shard-1'))!;
      assert.ok(await direct.takeLease((await direct.getLease('shard-1'))!, 'other'));
      assert.equal(await mine.takeLease(lease, 'me'), false);
      lease.checkpoint = esn(SEQ);
      assert.equal(await mine.updateLease(lease), false);
      assert.equal((await direct.getLease('shard-1'))!.leaseOwner, 'other');
    });
  });

  it('a take removes a KCL 3.x checkpointOwner (a handoff in progress ends with the take)', async () => {
    const { mine, direct, name } = await table();
    await direct.createLeaseIfNotExists(newLease('shard-1'));
    await env.dynamodb.send(
      new UpdateItemCommand({ TableName: name, Key: { leaseKey: { S: 'shard-1' } }, UpdateExpression: 'SET checkpointOwner = :o, leaseOwner = :o', ExpressionAttributeValues: { ':o': { S: 'java-3x-worker' } } }),
    );
    const lease = (await mine.getLease('shard-1'))!;
    assert.ok(await mine.takeLease(lease, 'me'));
    const item = (await env.dynamodb.send(new GetItemCommand({ TableName: name, Key: { leaseKey: { S: 'shard-1' } }, ConsistentRead: true }))).Item!;
    assert.equal(item.leaseOwner?.S, 'me');
    assert.equal(item.checkpointOwner, undefined);
  });

  it('items of a KCL 3.x table that are not leases are never read, counted or deleted as leases', async () => {
    const stream = uniqueName('kcl3');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    const direct = new DynamoDBLeaseRefresher(env.dynamodb, app);
    await direct.createLeaseTableIfNotExists();
    await direct.waitUntilLeaseTableExists(10000);
    const others = [
      { leaseKey: { S: 'Leader' }, entityType: { S: 'LEADER' }, ownerName: { S: 'java-worker' }, recordVersionNumber: { S: 'v1' }, leaseDuration: { N: '20000' } },
      // What a Java 3.x worker in its 2.x-compatible mode writes: ts-kcl (compatible too) follows it and leaves it as it is.
      { leaseKey: { S: 'Migration3.0' }, entityType: { S: 'CLIENT_VERSION_MIGRATION' }, cv: { S: 'CLIENT_VERSION_UPGRADE_FROM_2X' }, mb: { S: 'java-worker' }, mts: { N: '1' } },
      { leaseKey: { S: 'java-worker' }, entityType: { S: 'WORKER_METRIC_STATS' }, lut: { N: '1' } },
    ];
    for (const Item of others) await env.dynamodb.send(new PutItemCommand({ TableName: app, Item }));
    // A 3.x shard lease carries entityType LEASE: it stays a lease.
    const recorder = new Recorder();
    const worker = testScheduler(env, { applicationName: app, streamName: stream, processorFactory: recordingFactory(recorder), lease: { shardSyncIntervalMs: 200 } });
    const running = start(worker);
    const put = await putRecords(env.kinesis, stream, makeRecords(20, 'x'));
    await waitFor(() => recorder.deliveries.length >= put.length, 'every record');
    assert.deepEqual((await direct.listLeases()).map((l) => l.leaseKey).sort(), ['shardId-000000000000', 'shardId-000000000001']);
    assert.equal(await direct.hasUnownedLeases(), false, 'the 3.x items have no leaseOwner but are not unowned leases');
    // Several leader shard-sync-and-cleanup rounds later, every 3.x item is still there, untouched.
    const syncsBefore = Date.now();
    await waitFor(() => Date.now() - syncsBefore > 1000, 'five shard sync rounds');
    await worker.shutdown();
    await running;
    const items = (await env.dynamodb.send(new ScanCommand({ TableName: app }))).Items ?? [];
    for (const expected of others) assert.deepEqual(items.find((i) => i.leaseKey?.S === expected.leaseKey.S), expected);
  });

  it('graceful shutdown waits for a taker round in progress and releases what it took', async () => {
    const stream = uniqueName('graceful-take');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    const slow = new FaultProxy(env.servers.dynamodb.endpoint);
    const slowEndpoint = await slow.start();
    slow.inject(UPDATE_ITEM, { delayMs: 1000 }, { times: 2 }); // the two takes of the first taker round
    const recorder = new Recorder();
    const worker = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, dynamodb: slowEndpoint } },
      processorFactory: recordingFactory(recorder),
    });
    const running = start(worker);
    try {
      await waitFor(() => slow.count(UPDATE_ITEM) >= 1, 'the first take in flight');
      assert.equal(await worker.startGracefulShutdown(), true);
      await running;
      const leases = await new DynamoDBLeaseRefresher(env.dynamodb, app).listLeases();
      assert.equal(leases.length, 2);
      assert.deepEqual(leases.filter((l) => l.leaseOwner !== undefined).map((l) => l.leaseKey), [], 'every lease taken was released');
      for (const shard of recorder.processors.keys()) assert.ok(recorder.methods(shard).includes('shutdownRequested'), `${shard} got shutdownRequested`);
    } finally {
      await slow.stop();
    }
  });

  it('shutdown() during start-up stops start-up: nothing is delivered and nothing renewed afterwards', async () => {
    const stream = uniqueName('zombie');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    await putRecords(env.kinesis, stream, makeRecords(10, 'z'));
    const direct = new DynamoDBLeaseRefresher(env.dynamodb, app);
    await direct.createLeaseTableIfNotExists();
    await direct.waitUntilLeaseTableExists(10000);
    // Leases this worker id held before a crash: start-up renews them first.
    for (const id of ['shardId-000000000000', 'shardId-000000000001']) await direct.createLeaseIfNotExists({ ...newLease(id), leaseOwner: 'w-restarted', leaseCounter: 5 });
    const slow = new FaultProxy(env.servers.dynamodb.endpoint);
    const slowEndpoint = await slow.start();
    slow.inject(UPDATE_ITEM, { delayMs: 1500 }, { times: 2 });
    const recorder = new Recorder();
    const states: WorkerState[] = [];
    const worker = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      workerId: 'w-restarted',
      clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, dynamodb: slowEndpoint } },
      processorFactory: recordingFactory(recorder),
    });
    worker.on('stateChange', (s) => states.push(s));
    const running = start(worker);
    try {
      await waitFor(() => slow.count(UPDATE_ITEM) >= 2, 'start-up renewing its own leases');
      await worker.shutdown();
      await running;
      const counters = new Map((await direct.listLeases()).map((l) => [l.leaseKey, l.leaseCounter]));
      // The delayed renewals have long been answered by now; a zombie would deliver and renew.
      const after = Date.now();
      await waitFor(() => Date.now() - after > 2500, 'past the delayed answers and a renewal interval');
      assert.deepEqual(recorder.calls, [], 'no processor was even initialized');
      assert.equal(states.at(-1), 'SHUT_DOWN');
      assert.ok(!states.includes('STARTED'), `states: ${states.join(' -> ')}`);
      assert.deepEqual(new Map((await direct.listLeases()).map((l) => [l.leaseKey, l.leaseCounter])), counters, 'no renewal after shutdown');
    } finally {
      await slow.stop();
    }
  });
});
