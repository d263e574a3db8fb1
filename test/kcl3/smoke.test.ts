import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import type { Scheduler } from '../../src/index.ts';
import { stderrLogger } from '../../src/common/logger.ts';

// KCL 3.x mode end to end in one process: a leader assigns every lease, workers find theirs through the
// GSI, and the table holds what Java 3.5 keeps there (leader lock, migration state, worker metrics).
describe('KCL 3.x mode, three workers in one process', () => {
  let env: TestEnv;
  const workers: Scheduler[] = [];
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => {
    await Promise.all(workers.map((w) => w.shutdown()));
    await env?.close();
  });
  it('the leader assigns every lease; each worker processes what it was given', async () => {
    const stream = uniqueName('k3');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 6);
    await putRecords(env.kinesis, stream, makeRecords(60));
    const seen = new Map<string, string>();
    for (const w of ['w1', 'w2', 'w3']) {
      // In one process every worker would read the same process CPU: each reports its own load instead
      // (5 % idle + 10 % per lease), so the leader's balancing sees who has what.
      const load = { shortName: 'C', maxUtilization: 100, capture: () => 5 + 10 * s.heldShardIds().length };
      const s = testScheduler(env, {
        workerId: w, applicationName: app, streamName: stream, clientVersion: '3.x',
        logger: stderrLogger(),
        lease: { failoverTimeMs: 3000, leaseAssignmentIntervalMs: 1000, leaderLock: { leaseDurationMs: 3000, heartbeatPeriodMs: 1000 }, workerUtilizationAwareAssignment: { workerMetricsReporterFreqMs: 1000, inMemoryWorkerMetricsCaptureFrequencyMs: 200, varianceBalancingFrequency: 1, workerMetrics: [load] } },
        processorFactory: ({ shardId }) => ({
          initialize: () => {}, leaseLost: () => {}, shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(), shutdownRequested: async ({ checkpointer }) => checkpointer.checkpoint(),
          processRecords: async ({ records, checkpointer }) => { for (const r of records) seen.set(Buffer.from(r.data).toString(), `${w}:${shardId}`); await checkpointer.checkpoint(); },
        }),
      });
      workers.push(s);
      void start(s);
    }
    await waitFor(() => seen.size === 60, 'all records', 30000);
    await waitFor(() => workers.every((w) => w.heldShardIds().length >= 1) && workers.reduce((n, w) => n + w.heldShardIds().length, 0) === 6, 'every lease held, every worker holding some', 30000);
    const items = (await env.dynamodb.send(new ScanCommand({ TableName: app, ConsistentRead: true }))).Items ?? [];
    const byType = (t: string) => items.filter((i) => i.entityType?.S === t).map((i) => i.leaseKey?.S).sort();
    assert.deepEqual(byType('LEADER'), ['Leader']);
    assert.deepEqual(byType('CLIENT_VERSION_MIGRATION'), ['Migration3.0']);
    assert.equal(items.find((i) => i.leaseKey?.S === 'Migration3.0')?.cv?.S, 'CLIENT_VERSION_3X');
    await waitFor(async () => {
      const now = (await env.dynamodb.send(new ScanCommand({ TableName: app, ConsistentRead: true }))).Items ?? [];
      return now.filter((i) => i.entityType?.S === 'WORKER_METRIC_STATS').length === 3;
    }, 'three WORKER_METRIC_STATS items', 10000);
    await waitFor(async () => {
      const now = (await env.dynamodb.send(new ScanCommand({ TableName: app, ConsistentRead: true }))).Items ?? [];
      return now.some((i) => Number(i.throughputKBps?.N ?? 0) > 0);
    }, 'leases renewed with their throughputKBps', 10000);
    const owners = new Set(items.filter((i) => i.leaseKey?.S?.startsWith('shardId-')).map((i) => i.leaseOwner?.S));
    assert.deepEqual([...owners].sort(), ['w1', 'w2', 'w3']);
    assert.deepEqual(await Promise.all(workers.map((w) => w.startGracefulShutdown())), [true, true, true]);
  });
});
