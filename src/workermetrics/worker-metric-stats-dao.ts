import { DeleteItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { withDeadline } from '../common/deadline.ts';
import { fromWorkerMetricStatsItem, WORKER_METRIC_STATS_ENTITY_TYPE, workerMetricStatsKey, workerMetricStatsUpdate, type WorkerMetricStatsTableForm } from './worker-metric-stats-serializer.ts';
import type { WorkerMetricStats } from './worker-metric-stats.ts';

/** The table a worker's metrics live in: `<app>-WorkerMetricStats` (keyed `wid`) or, after the 3.5 migration, the lease table. */
export interface WorkerMetricStatsTable {
  client: DynamoDBClient;
  tableName: string;
  form: WorkerMetricStatsTableForm;
  requestTimeoutMs: number;
  abortSignal?: AbortSignal;
}

/** WorkerMetricStatsDAO.updateMetrics: what the reporter sends every reporter period. */
export async function updateWorkerMetricStats(table: WorkerMetricStatsTable, stats: WorkerMetricStats): Promise<void> {
  await withDeadline(`DynamoDB UpdateItem (worker metrics) on table ${table.tableName}`, table.requestTimeoutMs, table.abortSignal, (abortSignal) =>
    table.client.send(new UpdateItemCommand(workerMetricStatsUpdate(table.tableName, stats, table.form)), { abortSignal }),
  );
}

/** getAllWorkerMetricStats: every worker's item (in the lease table, only the WORKER_METRIC_STATS entities). */
export async function listWorkerMetricStats(table: WorkerMetricStatsTable): Promise<WorkerMetricStats[]> {
  const out: WorkerMetricStats[] = [];
  const filter =
    table.form === 'leaseTable'
      ? { FilterExpression: '#et = :etVal', ExpressionAttributeNames: { '#et': 'entityType' }, ExpressionAttributeValues: { ':etVal': { S: 'WORKER_METRIC_STATS' } } }
      : {};
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await withDeadline(`DynamoDB Scan (worker metrics) on table ${table.tableName}`, table.requestTimeoutMs, table.abortSignal, (abortSignal) =>
      table.client.send(new ScanCommand({ TableName: table.tableName, ...filter, ...(start ? { ExclusiveStartKey: start } : {}) }), { abortSignal }),
    );
    for (const item of page.Items ?? []) {
      const stats = fromWorkerMetricStatsItem(item);
      if (stats !== undefined) out.push(stats);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

/**
 * A worker leaving gracefully deletes its own item, so the leader stops assigning it leases at once
 * rather than until the item goes stale (Java leaves it to expire). Only that worker-metrics item:
 * never a lease that happened to share the key.
 */
export async function deleteWorkerMetricStats(table: WorkerMetricStatsTable, workerId: string): Promise<void> {
  await withDeadline(`DynamoDB DeleteItem (worker metrics) on table ${table.tableName}`, table.requestTimeoutMs, table.abortSignal, (abortSignal) =>
    table.client.send(
      new DeleteItemCommand({
        TableName: table.tableName,
        Key: workerMetricStatsKey(workerId, table.form),
        ConditionExpression: 'attribute_not_exists(#et) OR #et = :wms',
        ExpressionAttributeNames: { '#et': 'entityType' },
        ExpressionAttributeValues: { ':wms': { S: WORKER_METRIC_STATS_ENTITY_TYPE } },
      }),
      { abortSignal },
    ),
  );
}
