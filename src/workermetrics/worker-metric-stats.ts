/**
 * A worker's WorkerMetricStats item (Java KCL 3.x worker/metricstats/WorkerMetricStats): what each
 * worker publishes every reporter period and what the leader's LeaseAssignmentManager reads.
 */
export interface WorkerMetricStats {
  /** `wid` in the WorkerMetricStats table, `leaseKey` in the lease table after the 3.5 migration. */
  workerId: string;
  /** `lut`: wall-clock epoch seconds of the last report. */
  lastUpdateTime?: number;
  /** `sts`: metric short name (`C`, `M`, `NI`, `NO`, `T`) -> the last N reported values; -1 = capture failed. */
  metricStats?: Record<string, number[]>;
  /** `opr`: metric short name -> [max utilization]. */
  operatingRange?: Record<string, number[]>;
  properties?: Record<string, string>;
  /** `sup` (3.5): highest "breaking" feature the worker supports; 1 = SINGLE_TABLE_MIGRATION. */
  supportCode?: number;
  /** `slu` (3.5): epoch seconds the support code was last heartbeated. */
  supportCodeUpdateEpochSeconds?: number;
}

/** WorkerMetricType short names, as Java writes them into `sts` and `opr`. */
export const WorkerMetricType = {
  CPU: 'C',
  MEMORY: 'M',
  NETWORK_IN: 'NI',
  NETWORK_OUT: 'NO',
  THROUGHPUT: 'T',
} as const;
export type WorkerMetricShortName = (typeof WorkerMetricType)[keyof typeof WorkerMetricType];

/** WorkerMetricStats.SUPPORT_CODE in 3.5.1: Features.values().length - 1 (SINGLE_TABLE_MIGRATION). */
export const WORKER_SUPPORT_CODE = 1;

const isEmpty = (r: Record<string, unknown> | undefined): boolean => r === undefined || Object.keys(r).length === 0;

/**
 * isUsingDefaultWorkerMetric: a worker reporting nothing (no `sts`, no `opr`) or a `THROUGHPUT`
 * entry is balanced by throughput instead. (Java compares the key with the enum NAME "THROUGHPUT",
 * not the short name "T" it writes; reproduced as is.)
 */
export function isUsingDefaultWorkerMetric(stats: WorkerMetricStats): boolean {
  if (isEmpty(stats.metricStats) && isEmpty(stats.operatingRange)) return true;
  if (stats.metricStats !== undefined) return Object.hasOwn(stats.metricStats, 'THROUGHPUT');
  return false;
}

/** isValidWorkerMetric: a timestamp, and an operating range with a non-zero max for every metric. */
export function isValidWorkerMetric(stats: WorkerMetricStats): boolean {
  if (stats.lastUpdateTime === undefined) return false;
  if (isUsingDefaultWorkerMetric(stats)) return true;
  const { metricStats, operatingRange } = stats;
  if (metricStats === undefined || operatingRange === undefined) return false;
  for (const name of Object.keys(metricStats)) if (!Object.hasOwn(operatingRange, name)) return false;
  for (const range of Object.values(operatingRange)) if (range.length === 0 || range[0] === 0) return false;
  return true;
}

/** isExpired(maxAge): older than maxAge (the leader uses 2 x the reporter period: a dead worker). */
export function isWorkerMetricStatsExpired(stats: WorkerMetricStats, maxAgeMillis: number, nowEpochMillis: number): boolean {
  if (stats.lastUpdateTime === undefined) return true;
  return nowEpochMillis - stats.lastUpdateTime * 1000 > maxAgeMillis;
}

/** isAnyWorkerMetricFailing: some metric's latest value is -1 (its capture failed). */
export function isAnyWorkerMetricFailing(stats: WorkerMetricStats): boolean {
  if (isUsingDefaultWorkerMetric(stats)) return false;
  for (const values of Object.values(stats.metricStats ?? {})) {
    if (values.length > 0 && values[values.length - 1] === -1) return true;
  }
  return false;
}
