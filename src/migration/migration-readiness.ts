import type { WorkerMetricStats } from '../workermetrics/worker-metric-stats.ts';

/**
 * MigrationReadyMonitor's rule (Java KCL 3.5.1), as pure functions: the leader flips the fleet from
 * UPGRADE_FROM_2X to 3X_WITH_ROLLBACK once the LeaseOwnerToLeaseKeyIndex is ACTIVE and every lease
 * owner publishes fresh WorkerMetricStats, and that has held for the whole stability window.
 */

/** Java's figures: both monitors run every minute; Scheduler passes Duration.ofMinutes(10) as flipTo3XStabilizerTimeInSeconds. */
export const MIGRATION_MONITOR_INTERVAL_MS = 60_000;
export const MIGRATION_READY_STABILITY_MS = 600_000;
/**
 * DynamicMigrationComponentsInitializer.workerMetricsExpirySeconds:
 * DEFAULT_NO_OF_SKIP_STAT_FOR_DEAD_WORKER_THRESHOLD (2) x workerMetricsReporterFreqInMillis (30 s).
 */
export const WORKER_METRICS_EXPIRY_MS = 2 * 30_000;

export interface ReadinessLease {
  leaseKey: string;
  leaseOwner?: string;
}

/**
 * getWorkersWithActiveWorkerMetricStats: `lut + expirySeconds > nowSeconds`, in whole seconds as
 * Java computes it (Duration.getSeconds truncates both). An item without `lut` is not active
 * (Java's unboxing would throw and the run would be retried).
 */
export function isWorkerMetricStatsActive(stats: WorkerMetricStats, nowMillis: number, expiryMillis: number): boolean {
  if (stats.lastUpdateTime === undefined) return false;
  return stats.lastUpdateTime + Math.floor(expiryMillis / 1000) > Math.floor(nowMillis / 1000);
}

/**
 * areLeaseOwnersEmittingWorkerMetrics: every lease owner is among the workers with active metrics.
 * Leases are not checked for expiry (a dead owner blocks the flip until its leases move: Java's
 * comment says so on purpose). An unowned lease blocks it too: Java collects `Lease::leaseOwner`
 * into a HashSet, null included, and no worker id equals null.
 */
export function leaseOwnersEmitWorkerMetrics(leases: readonly ReadinessLease[], workerMetrics: readonly WorkerMetricStats[], nowMillis: number, expiryMillis: number): boolean {
  const active = new Set(workerMetrics.filter((s) => isWorkerMetricStatsActive(s, nowMillis, expiryMillis)).map((s) => s.workerId));
  return leases.every((lease) => lease.leaseOwner !== undefined && active.has(lease.leaseOwner));
}

/** isReadyForUpgradeTo3x: the GSI first (Java skips the scan while it is not ACTIVE), then the owners. */
export function isReadyForUpgradeTo3x(input: { leaseOwnerIndexActive: boolean; leases: readonly ReadinessLease[]; workerMetrics: readonly WorkerMetricStats[]; nowMillis: number; workerMetricsExpiryMs: number }): boolean {
  return input.leaseOwnerIndexActive && leaseOwnersEmitWorkerMetrics(input.leases, input.workerMetrics, input.nowMillis, input.workerMetricsExpiryMs);
}

/** MonitorTriggerStabilizer's memory: the trigger's last value and when it last changed (wall clock, ms). */
export interface ReadinessStabilizer {
  triggered: boolean;
  sinceMillis: number;
}

export const initialStabilizer = (): ReadinessStabilizer => ({ triggered: false, sinceMillis: 0 });

/**
 * MonitorTriggerStabilizer.call: a change of the trigger restarts the clock; the callback fires on
 * every run once the trigger has been true for at least the window (Java: whole seconds
 * `>= flipTo3XStabilizerTimeInSeconds`, the same thing for a window in whole seconds). It keeps
 * firing until the monitor is cancelled (the flip written) or the trigger falls.
 */
export function stabilize(state: ReadinessStabilizer, triggered: boolean, nowMillis: number, stabilityMs: number): { state: ReadinessStabilizer; fire: boolean } {
  const next = state.triggered === triggered ? state : { triggered, sinceMillis: nowMillis };
  return { state: next, fire: next.triggered && nowMillis - next.sinceMillis >= stabilityMs };
}

/** MonitorTriggerStabilizer.reset: this worker is not the leader (the clock restarts when it leads again). */
export const resetStabilizer = (state: ReadinessStabilizer): ReadinessStabilizer => ({ ...state, triggered: false });
