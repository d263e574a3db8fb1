import { IllegalArgumentError } from '../errors.ts';
import type { WorkerMetric } from '../workermetrics/cpu-worker-metric.ts';
import type { Kcl3LeaseOptions } from '../config.ts';
import type { ClientVersionConfig } from '../migration/migration-state.ts';
import { DEFAULT_WORKER_METRICS_SAMPLING, type WorkerMetricsSamplingConfig } from '../workermetrics/worker-metric-stats-manager.ts';
import { DEFAULT_LEADER_HEARTBEAT_PERIOD_MILLIS, DEFAULT_LEADER_LEASE_DURATION_MILLIS } from '../leader/dynamodb-lock-based-leader-decider.ts';
import { DEFAULT_LEASE_ASSIGNMENT_CONFIG, type LeaseAssignmentConfig } from './lease-assignment-decisions.ts';

/** Which lease protocol the worker speaks (Java CoordinatorConfig.ClientVersionConfig). */
export type ClientVersionOption = '3.x' | 'compatible-with-2.x';

export interface ResolvedKcl3Config {
  /** The protocol asked for; omitted = the 2.x protocol. */
  clientVersion: ClientVersionOption;
  /**
   * What the migration state machine starts from: '3.x' = CONFIG_3X; 'compatible-with-2.x' =
   * CONFIG_COMPATIBLE_WITH_2X (starts the fleet's migration); omitted = CONFIG_COMPATIBLE_WITH_2X_PHASE1,
   * which writes nothing of 3.x into the table (Java 2.x workers read every item as a lease) and
   * joins a migration another worker started.
   */
  clientVersionConfig: ClientVersionConfig;
  leaseAssignmentIntervalMs: number;
  /** Java: leaseAssignmentIntervalMillis / 2 - epsilon. */
  leaseDiscoveryIntervalMs: number;
  assignment: LeaseAssignmentConfig;
  sampling: WorkerMetricsSamplingConfig;
  disableWorkerMetrics: boolean;
  workerMetrics: WorkerMetric[] | undefined;
  leaderLock: { leaseDurationMs: number; heartbeatPeriodMs: number };
}

function fail(field: string, value: unknown, fix: string): never {
  throw new IllegalArgumentError(`SchedulerConfig.${field} is ${JSON.stringify(value)}: ${fix}`);
}

function num(field: string, value: unknown, fallback: number, min: number, max = Number.MAX_VALUE): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) fail(field, value, `pass a number from ${min} to ${max} (default ${fallback})`);
  return value;
}

function int(field: string, value: unknown, fallback: number, min: number): number {
  const n = num(field, value, fallback, min);
  if (!Number.isInteger(n)) fail(field, value, `pass an integer >= ${min} (default ${fallback})`);
  return n;
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(field, value, 'pass true or false');
  return value;
}

/** Fills Java's 3.x defaults and checks each field; `lease` figures come already resolved. */
export function resolveKcl3Config(
  clientVersion: unknown,
  l: Kcl3LeaseOptions,
  lease: { failoverTimeMs: number; epsilonMs: number; maxLeasesForWorker: number },
): ResolvedKcl3Config {
  if (clientVersion !== undefined && clientVersion !== '3.x' && clientVersion !== 'compatible-with-2.x') {
    fail('clientVersion', clientVersion, "pass '3.x' (Java CLIENT_VERSION_CONFIG_3X) or 'compatible-with-2.x' (CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X)");
  }
  const w = l.workerUtilizationAwareAssignment ?? {};
  const p = 'lease.workerUtilizationAwareAssignment.';
  const interval = int('lease.leaseAssignmentIntervalMs', l.leaseAssignmentIntervalMs, 2 * lease.failoverTimeMs, 1);
  const strategy = w.leaseAssignmentStrategy ?? 'WORKER_UTILIZATION_AWARE';
  if (strategy !== 'WORKER_UTILIZATION_AWARE' && strategy !== 'LEASE_COUNT_BASED') fail(`${p}leaseAssignmentStrategy`, strategy, "pass 'WORKER_UTILIZATION_AWARE' or 'LEASE_COUNT_BASED'");
  const d = DEFAULT_LEASE_ASSIGNMENT_CONFIG;
  const sampling: WorkerMetricsSamplingConfig = {
    captureFrequencyMillis: int(`${p}inMemoryWorkerMetricsCaptureFrequencyMs`, w.inMemoryWorkerMetricsCaptureFrequencyMs, DEFAULT_WORKER_METRICS_SAMPLING.captureFrequencyMillis, 1),
    reporterFrequencyMillis: int(`${p}workerMetricsReporterFreqMs`, w.workerMetricsReporterFreqMs, DEFAULT_WORKER_METRICS_SAMPLING.reporterFrequencyMillis, 1),
    persistedValuesPerMetric: int(`${p}noOfPersistedMetricsPerWorkerMetrics`, w.noOfPersistedMetricsPerWorkerMetrics, DEFAULT_WORKER_METRICS_SAMPLING.persistedValuesPerMetric, 1),
  };
  const handoff = l.gracefulLeaseHandoff ?? {};
  if (w.workerMetrics !== undefined && !Array.isArray(w.workerMetrics)) fail(`${p}workerMetrics`, w.workerMetrics, 'pass an array of WorkerMetric');
  return {
    clientVersion: clientVersion ?? 'compatible-with-2.x',
    clientVersionConfig:
      clientVersion === '3.x' ? 'CLIENT_VERSION_CONFIG_3X' : clientVersion === 'compatible-with-2.x' ? 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X' : 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1',
    leaseAssignmentIntervalMs: interval,
    leaseDiscoveryIntervalMs: Math.max(1, Math.floor(interval / 2) - lease.epsilonMs),
    assignment: {
      leaseAssignmentStrategy: strategy,
      reBalanceThresholdPercentage: num(`${p}reBalanceThresholdPercentage`, w.reBalanceThresholdPercentage, d.reBalanceThresholdPercentage, 0, 100),
      dampeningPercentage: num(`${p}dampeningPercentage`, w.dampeningPercentage, d.dampeningPercentage, 1, 100),
      allowThroughputOvershoot: bool(`${p}allowThroughputOvershoot`, w.allowThroughputOvershoot, d.allowThroughputOvershoot),
      maxThroughputPerHostKBps: num(`${p}maxThroughputPerHostKBps`, w.maxThroughputPerHostKBps, d.maxThroughputPerHostKBps, 0),
      varianceBalancingFrequency: int(`${p}varianceBalancingFrequency`, w.varianceBalancingFrequency, d.varianceBalancingFrequency, 1),
      workerMetricsEMAAlpha: num(`${p}workerMetricsEMAAlpha`, w.workerMetricsEMAAlpha, d.workerMetricsEMAAlpha, 0, 1),
      workerMetricsReporterFreqInMillis: sampling.reporterFrequencyMillis,
      maxLeasesForWorker: Math.min(lease.maxLeasesForWorker, d.maxLeasesForWorker),
      leaseDurationMillis: lease.failoverTimeMs,
      isGracefulLeaseHandoffEnabled: bool('lease.gracefulLeaseHandoff.enabled', handoff.enabled, d.isGracefulLeaseHandoffEnabled),
      gracefulLeaseHandoffTimeoutMillis: int('lease.gracefulLeaseHandoff.timeoutMs', handoff.timeoutMs, d.gracefulLeaseHandoffTimeoutMillis, 0),
    },
    sampling,
    disableWorkerMetrics: bool(`${p}disableWorkerMetrics`, w.disableWorkerMetrics, false),
    workerMetrics: w.workerMetrics ? [...w.workerMetrics] : undefined,
    leaderLock: {
      leaseDurationMs: int('lease.leaderLock.leaseDurationMs', l.leaderLock?.leaseDurationMs, DEFAULT_LEADER_LEASE_DURATION_MILLIS, 1),
      heartbeatPeriodMs: int('lease.leaderLock.heartbeatPeriodMs', l.leaderLock?.heartbeatPeriodMs, DEFAULT_LEADER_HEARTBEAT_PERIOD_MILLIS, 1),
    },
  };
}
