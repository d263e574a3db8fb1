import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';

// A Java 3.x fleet still keeping its coordinator state in `<app>-CoordinatorState` (KCL 3.0-3.4, or 3.5
// before its table migration completed) must not get a second leader from ts-kcl's 3.x mode.
describe('KCL 3.x coordinator-state layout (kinesalite + dynalite)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  const legacyFleet = async (app: string, tableMigration?: string): Promise<void> => {
    await env.dynamodb.send(
      new CreateTableCommand({ TableName: `${app}-CoordinatorState`, KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }),
    );
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    await refresher.createLeaseTableIfNotExists(undefined, { withOwnerIndex: true });
    await refresher.waitUntilLeaseTableExists(10000);
    if (tableMigration) await env.dynamodb.send(new PutItemCommand({ TableName: app, Item: { leaseKey: { S: 'TableMigration3.5' }, tm: { S: tableMigration }, mb: { S: 'java' }, mts: { N: '1' } } }));
  };
  const migrationItem = async (app: string) => (await env.dynamodb.send(new GetItemCommand({ TableName: app, Key: { leaseKey: { S: 'Migration3.0' } }, ConsistentRead: true }))).Item;

  it("3.x mode refuses to start at once, naming the Java fleet's table migration as the fix", async () => {
    const stream = uniqueName('legacy');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    await legacyFleet(app, 'TABLE_MIGRATION_STATUS_DEPLOYED');
    const worker = testScheduler(env, { applicationName: app, streamName: stream, clientVersion: '3.x', processorFactory: recordingFactory(new Recorder()) });
    await assert.rejects(worker.run(), (err: Error) => {
      assert.equal(err.name, 'LeaseTableModeError');
      assert.match(err.message, /CoordinatorState/);
      assert.match(err.message, /migrateAllEntitiesToLeaseTable/);
      assert.match(err.message, /compatible-with-2.x/);
      return true;
    });
    assert.equal(await migrationItem(app), undefined, 'nothing of 3.x written');
  });

  it('2.x-compatible mode runs the 2.x protocol and writes no migration state of its own', async () => {
    const stream = uniqueName('legacy');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    await legacyFleet(app);
    const recorder = new Recorder();
    const worker = testScheduler(env, { applicationName: app, streamName: stream, processorFactory: recordingFactory(recorder) });
    const running = start(worker);
    const put = await putRecords(env.kinesis, stream, makeRecords(5, 'l'));
    await waitFor(() => recorder.deliveries.length >= put.length, 'the records');
    assert.equal(await migrationItem(app), undefined);
    await worker.shutdown();
    await running;
  });

  it('once the table migration is COMPLETE, 3.x mode runs on the lease table', async () => {
    const stream = uniqueName('legacy');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 1);
    await legacyFleet(app, 'TABLE_MIGRATION_STATUS_COMPLETE');
    const recorder = new Recorder();
    const worker = testScheduler(env, {
      applicationName: app,
      streamName: stream,
      clientVersion: '3.x',
      lease: { leaseAssignmentIntervalMs: 500, leaderLock: { leaseDurationMs: 3000, heartbeatPeriodMs: 1000 } },
      processorFactory: recordingFactory(recorder),
    });
    const running = start(worker);
    const put = await putRecords(env.kinesis, stream, makeRecords(5, 'c'));
    await waitFor(() => recorder.deliveries.length >= put.length, 'the records');
    assert.equal((await migrationItem(app))?.cv?.S, 'CLIENT_VERSION_3X');
    await worker.shutdown();
    await running;
  });
});
