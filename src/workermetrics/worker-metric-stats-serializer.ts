import type { AttributeValue, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import type { WorkerMetricStats } from './worker-metric-stats.ts';

/**
 * The WorkerMetricStats item exactly as the Java KCL's DynamoDB enhanced-client bean writes it:
 * `wid` (the `<app>-WorkerMetricStats` table) or `leaseKey` (the lease table after the 3.5
 * single-table migration) holds the worker id; then `entityType`, `lut`, `sts`, `opr`,
 * `properties`, `sup`, `slu`. Java 3.5 writes `entityType` in both tables.
 */
export type WorkerMetricStatsTableForm = 'workerMetricsTable' | 'leaseTable';

export const WORKER_METRIC_STATS_ENTITY_TYPE = 'WORKER_METRIC_STATS';
export const WORKER_ID_KEY = 'wid';
export const LEASE_TABLE_KEY = 'leaseKey';

const partitionKeyName = (form: WorkerMetricStatsTableForm): string => (form === 'leaseTable' ? LEASE_TABLE_KEY : WORKER_ID_KEY);

const n = (v: number): AttributeValue => ({ N: String(v) });
const numberLists = (m: Record<string, number[]>): AttributeValue => ({ M: Object.fromEntries(Object.entries(m).map(([k, vs]) => [k, { L: vs.map(n) }])) });

export function workerMetricStatsKey(workerId: string, form: WorkerMetricStatsTableForm): Record<string, AttributeValue> {
  return { [partitionKeyName(form)]: { S: workerId } };
}

/** Attributes other than the key, null fields left out (the enhanced client's ignoreNulls). */
function attributes(stats: WorkerMetricStats): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = { entityType: { S: WORKER_METRIC_STATS_ENTITY_TYPE } };
  if (stats.lastUpdateTime !== undefined) out.lut = n(stats.lastUpdateTime);
  if (stats.metricStats !== undefined) out.sts = numberLists(stats.metricStats);
  if (stats.operatingRange !== undefined) out.opr = numberLists(stats.operatingRange);
  if (stats.properties !== undefined) out.properties = { M: Object.fromEntries(Object.entries(stats.properties).map(([k, v]) => [k, { S: v }])) };
  if (stats.supportCode !== undefined) out.sup = n(stats.supportCode);
  if (stats.supportCodeUpdateEpochSeconds !== undefined) out.slu = n(stats.supportCodeUpdateEpochSeconds);
  return out;
}

export function toWorkerMetricStatsItem(stats: WorkerMetricStats, form: WorkerMetricStatsTableForm): Record<string, AttributeValue> {
  return { ...workerMetricStatsKey(stats.workerId, form), ...attributes(stats) };
}

const readNumberLists = (v: AttributeValue | undefined): Record<string, number[]> | undefined =>
  v?.M === undefined ? undefined : Object.fromEntries(Object.entries(v.M).map(([k, l]) => [k, (l.L ?? []).map((x) => Number(x.N))]));

/** Reads an item from either table (whichever key it carries); undefined if it is not a worker's metrics. */
export function fromWorkerMetricStatsItem(item: Record<string, AttributeValue>): WorkerMetricStats | undefined {
  const workerId = item[WORKER_ID_KEY]?.S ?? (item.entityType?.S === WORKER_METRIC_STATS_ENTITY_TYPE ? item[LEASE_TABLE_KEY]?.S : undefined);
  if (workerId === undefined) return undefined;
  const stats: WorkerMetricStats = { workerId };
  if (item.lut?.N !== undefined) stats.lastUpdateTime = Number(item.lut.N);
  const sts = readNumberLists(item.sts);
  if (sts !== undefined) stats.metricStats = sts;
  const opr = readNumberLists(item.opr);
  if (opr !== undefined) stats.operatingRange = opr;
  if (item.properties?.M !== undefined) stats.properties = Object.fromEntries(Object.entries(item.properties.M).map(([k, v]) => [k, v.S ?? '']));
  if (item.sup?.N !== undefined) stats.supportCode = Number(item.sup.N);
  if (item.slu?.N !== undefined) stats.supportCodeUpdateEpochSeconds = Number(item.slu.N);
  return stats;
}

/**
 * WorkerMetricStatsDAO.updateMetrics: an unconditional UpdateItem that SETs every non-null
 * attribute (what UpdateItemEnhancedRequest with ignoreNulls sends), so fields a newer worker
 * wrote survive an older one's report.
 */
export function workerMetricStatsUpdate(tableName: string, stats: WorkerMetricStats, form: WorkerMetricStatsTableForm): UpdateItemCommandInput {
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const sets: string[] = [];
  for (const [name, value] of Object.entries(attributes(stats))) {
    names[`#AMZN_MAPPED_${name}`] = name;
    values[`:AMZN_MAPPED_${name}`] = value;
    sets.push(`#AMZN_MAPPED_${name} = :AMZN_MAPPED_${name}`);
  }
  return {
    TableName: tableName,
    Key: workerMetricStatsKey(stats.workerId, form),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
