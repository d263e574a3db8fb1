// Short KCL 3.x intervals for the interop tests, the same on both sides (Java's defaults are 30 s to 2 minutes).
import type { Kcl3Options } from './fleet.ts';

export const FAILOVER_MS = 3000;
/** The Leader lock: Java's default is 120 s / 30 s; both lock clients honour the lease duration stored in the item. */
export const LOCK = { leaseDurationMillis: 6000, heartbeatPeriodMillis: 2000 };
export const SAMPLING = { captureFrequencyMillis: 500, reporterFrequencyMillis: 2000, persistedValuesPerMetric: 10 };
export const LEASE_ASSIGNMENT_INTERVAL_MS = 1000;
export const HANDOFF_TIMEOUT_MS = 10000;

/** The Java worker's settings (java-worker Kcl3Config); `workerMetrics` is the scenario's. */
export const KCL3_JAVA: Kcl3Options = {
  leaseAssignmentIntervalMs: LEASE_ASSIGNMENT_INTERVAL_MS,
  workerMetricsReporterFreqMs: SAMPLING.reporterFrequencyMillis,
  inMemoryWorkerMetricsCaptureFrequencyMs: SAMPLING.captureFrequencyMillis,
  gracefulLeaseHandoffTimeoutMs: HANDOFF_TIMEOUT_MS,
  leaderLeaseDurationMs: LOCK.leaseDurationMillis,
  leaderHeartbeatMs: LOCK.heartbeatPeriodMillis,
};

/** Java loggers whose INFO lines the tests read: who holds the Leader lock, each assignment, each handoff. */
export const JAVA_LEADER_LOGGER = 'software.amazon.kinesis.leader.DynamoDBLockBasedLeaderDecider';
export const JAVA_ASSIGNMENT_LOGGER = 'software.amazon.kinesis.coordinator.assignment.VarianceBasedLeaseAssignmentDecider';
export const JAVA_HANDOFF_LOGGER = 'software.amazon.kinesis.lifecycle.LeaseGracefulShutdownHandler';
