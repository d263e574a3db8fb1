import { describe, it, before, after } from 'node:test';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import type { Scheduler } from '../../src/index.ts';
import { stderrLogger } from '../../src/common/logger.ts';

describe('3.x smoke', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());
  it('three workers share leases assigned by the leader', async () => {
    const stream = uniqueName('k3');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 6);
    await putRecords(env.kinesis, stream, makeRecords(60));
    const seen = new Map<string, string>();
    const workers: Scheduler[] = [];
    for (const w of ['w1', 'w2', 'w3']) {
      const s = testScheduler(env, {
        workerId: w, applicationName: app, streamName: stream, clientVersion: '3.x',
        logger: stderrLogger(),
        lease: { failoverTimeMs: 3000, leaseAssignmentIntervalMs: 1000, leaderLock: { leaseDurationMs: 3000, heartbeatPeriodMs: 1000 }, workerUtilizationAwareAssignment: { workerMetricsReporterFreqMs: 1000, inMemoryWorkerMetricsCaptureFrequencyMs: 200 } },
        processorFactory: ({ shardId }) => ({
          initialize: () => {}, leaseLost: () => {}, shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(), shutdownRequested: async ({ checkpointer }) => checkpointer.checkpoint(),
          processRecords: async ({ records, checkpointer }) => { for (const r of records) seen.set(Buffer.from(r.data).toString(), `${w}:${shardId}`); await checkpointer.checkpoint(); },
        }),
      });
      workers.push(s);
      void start(s);
    }
    await waitFor(() => seen.size === 60, 'all records', 30000);
    await waitFor(() => workers.every((w) => w.heldShardIds().length === 2), 'balanced 2/2/2', 30000);
    const out = await env.dynamodb.send(new ScanCommand({ TableName: app }));
    console.log(JSON.stringify(out.Items?.map((i) => [i.leaseKey?.S, i.leaseOwner?.S, i.entityType?.S, i.throughputKBps?.N])));
    await Promise.all(workers.map((w) => w.startGracefulShutdown()));
  });
});
