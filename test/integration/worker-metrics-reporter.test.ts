import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite, type LocalServer } from '../../src/local/local-servers.ts';
import { WorkerMetricStatsManager } from '../../src/workermetrics/worker-metric-stats-manager.ts';
import { WorkerMetricStatsReporter } from '../../src/workermetrics/worker-metric-stats-reporter.ts';
import { listWorkerMetricStats, type WorkerMetricStatsTable } from '../../src/workermetrics/worker-metric-stats-dao.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { credentials, region, uniqueName, waitFor } from '../support/env.ts';

describe('WorkerMetricStats reporter (dynalite)', () => {
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

  it('publishes the worker item on its schedule, keeping the last N values, readable as Java reads it', async () => {
    const tableName = uniqueName('app-WorkerMetricStats');
    await client.send(new CreateTableCommand({ TableName: tableName, AttributeDefinitions: [{ AttributeName: 'wid', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'wid', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
    const table: WorkerMetricStatsTable = { client, tableName, form: 'workerMetricsTable', requestTimeoutMs: 10000 };
    let sample = 0;
    const sampling = { captureFrequencyMillis: 5, reporterFrequencyMillis: 40, persistedValuesPerMetric: 3 };
    const manager = new WorkerMetricStatsManager([{ shortName: 'C', maxUtilization: 100, capture: () => (sample = (sample % 90) + 10) }], sampling);
    const reporter = new WorkerMetricStatsReporter({ workerId: 'worker-1', manager, table, sampling, logger: silentLogger });
    manager.start(() => 0);
    reporter.start();
    try {
      // Four reports or more: the item holds exactly the last 3 values.
      const item = await waitFor(async () => {
        const got = (await client.send(new GetItemCommand({ TableName: tableName, Key: { wid: { S: 'worker-1' } }, ConsistentRead: true }))).Item;
        return (got?.sts?.M?.C?.L?.length ?? 0) >= 3 ? got : undefined;
      }, 'three reported values', 10000);
      assert.equal(item.entityType?.S, 'WORKER_METRIC_STATS');
      assert.deepEqual(item.opr, { M: { C: { L: [{ N: '100' }] } } });
      assert.equal(item.sup?.N, '1');
      assert.ok(Math.abs(Number(item.lut?.N) - Date.now() / 1000) < 60);
    } finally {
      await reporter.stop();
      manager.stop();
    }
    const [stats] = await listWorkerMetricStats(table);
    assert.equal(stats?.workerId, 'worker-1');
    assert.equal(stats?.metricStats?.C?.length, 3);
    // Each value is the mean of the samples of its period; a period without a capture (timers starved on a
    // loaded machine, or reports catching up at a fixed rate as Java's do) reports -1.
    const values = stats.metricStats.C;
    assert.ok(values.every((v) => v === -1 || (v >= 10 && v <= 99)) && values.some((v) => v !== -1), values.join(','));
  });
});
