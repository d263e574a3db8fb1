import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';

describe('restart with the same worker id (kinesalite)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  it('resumes its own leases at once, without waiting for them to expire', async () => {
    const stream = uniqueName('restart');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 3);
    await putRecords(env.kinesis, stream, makeRecords(30, 'a'));
    const lease = { failoverTimeMs: 20000, takerIntervalMs: 500 };
    const first = new Recorder();
    const w1 = testScheduler(env, { applicationName: app, streamName: stream, workerId: 'stable-id', lease, processorFactory: recordingFactory(first) });
    const r1 = start(w1);
    await waitFor(() => first.deliveries.length >= 30, 'the first records');
    await w1.shutdown(); // a crash-like stop: leases stay owned by 'stable-id' in the table
    await r1;
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    assert.ok((await refresher.listLeases()).every((l) => l.leaseOwner === 'stable-id'));

    await putRecords(env.kinesis, stream, makeRecords(30, 'b'));
    const countersBefore = new Map((await refresher.listLeases()).map((l) => [l.leaseKey, l.leaseCounter]));
    const again = new Recorder();
    const w1b = testScheduler(env, { applicationName: app, streamName: stream, workerId: 'stable-id', lease, processorFactory: recordingFactory(again) });
    const t0 = Date.now();
    const r3 = start(w1b);
    await waitFor(() => again.deliveries.length >= 30, 'the restarted worker to process the new records');
    const resumedMs = Date.now() - t0;
    const leases = await refresher.listLeases();
    await w1b.shutdown();
    await r3;
    assert.ok(resumedMs < lease.failoverTimeMs / 2, `resumed in ${resumedMs} ms, far below the failover time`);
    for (const l of leases) {
      assert.equal(l.leaseOwner, 'stable-id');
      assert.equal(l.ownerSwitchesSinceCheckpoint, 0, 'renewed as its own, not taken');
      assert.ok(l.leaseCounter > countersBefore.get(l.leaseKey)!);
    }
    assert.deepEqual([...again.dataSet()].sort(), makeRecords(30, 'b').map((r) => r.data).sort(), 'resumed from the checkpoints: nothing redelivered');
  });
});
