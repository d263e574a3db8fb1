import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { withDeadline } from '../common/deadline.ts';
import { LeaseAttribute } from '../leases/dynamodb/lease-serializer.ts';
import { listWorkerMetricStats, type WorkerMetricStatsTable } from '../workermetrics/worker-metric-stats-dao.ts';
import { fromWorkerMetricStatsItem } from '../workermetrics/worker-metric-stats-serializer.ts';
import type { WorkerMetricStats } from '../workermetrics/worker-metric-stats.ts';
import type { AssignmentLease } from './in-memory-storage-view.ts';
import type { LeaseAssignmentTable } from './lease-assignment-writes.ts';

/** What one leader run reads (Java LAMDataSnapshot). */
export interface LeaseAssignmentData {
  leases: AssignmentLease[];
  workerMetrics: WorkerMetricStats[];
}

/** The 3.x view of a lease item: ownership, counter, throughput, whether it ended. */
export function assignmentLeaseFromItem(item: Record<string, AttributeValue>): AssignmentLease {
  const lease: AssignmentLease = { leaseKey: item[LeaseAttribute.leaseKey]?.S ?? '', leaseCounter: Number(item[LeaseAttribute.leaseCounter]?.N ?? 0) };
  const owner = item[LeaseAttribute.leaseOwner]?.S;
  if (owner !== undefined) lease.leaseOwner = owner;
  const checkpointOwner = item[LeaseAttribute.checkpointOwner]?.S;
  if (checkpointOwner !== undefined) lease.checkpointOwner = checkpointOwner;
  const throughput = item.throughputKBps?.N;
  if (throughput !== undefined) lease.throughputKBps = Number(throughput);
  if (item[LeaseAttribute.checkpoint]?.S === 'SHARD_END') lease.shardEnded = true;
  return lease;
}

/**
 * MigrationAwareLAMDataManager.loadData: one scan of the lease table for leases and (after the 3.5
 * migration) workers' metrics, plus the `<app>-WorkerMetricStats` table while it is still in use.
 * Duplicates across the two tables are kept, as Java keeps them. Leader lock and migration items
 * are skipped.
 */
export async function loadLeaseAssignmentData(leaseTable: LeaseAssignmentTable, legacyWorkerMetrics?: WorkerMetricStatsTable): Promise<LeaseAssignmentData> {
  const leases: AssignmentLease[] = [];
  const workerMetrics: WorkerMetricStats[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await withDeadline(`DynamoDB Scan on table ${leaseTable.tableName}`, leaseTable.requestTimeoutMs, leaseTable.abortSignal, (abortSignal) =>
      leaseTable.client.send(new ScanCommand({ TableName: leaseTable.tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }), { abortSignal }),
    );
    for (const item of page.Items ?? []) {
      const type = item[LeaseAttribute.entityType]?.S;
      if (type === undefined || type === 'LEASE') leases.push(assignmentLeaseFromItem(item));
      else if (type === 'WORKER_METRIC_STATS') {
        const stats = fromWorkerMetricStatsItem(item);
        if (stats !== undefined) workerMetrics.push(stats);
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  if (legacyWorkerMetrics !== undefined) workerMetrics.push(...(await listWorkerMetricStats(legacyWorkerMetrics)));
  return { leases, workerMetrics };
}
