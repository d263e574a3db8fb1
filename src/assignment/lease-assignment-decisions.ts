import type { WorkerMetricStats } from '../workermetrics/worker-metric-stats.ts';
import { isValidWorkerMetric, isWorkerMetricStatsExpired } from '../workermetrics/worker-metric-stats.ts';
import { blockedOnPendingCheckpoint, InMemoryStorageView, isEligibleForGracefulShutdown, shutdownRequested, type AssignmentLease, type LeaseInRun } from './in-memory-storage-view.ts';
import type { ShuffleRandom } from '../common/java-collections.ts';
import { LeaseCountBasedLeaseAssignmentDecider } from './lease-count-based-lease-assignment-decider.ts';
import { VarianceBasedLeaseAssignmentDecider, type LeaseAssignmentDecider } from './variance-based-lease-assignment-decider.ts';

export type { AssignmentLease } from './in-memory-storage-view.ts';

/** Java LeaseAssignmentStrategy. */
export type LeaseAssignmentStrategy = 'WORKER_UTILIZATION_AWARE' | 'LEASE_COUNT_BASED';

/** The Java defaults live in DEFAULT_LEASE_ASSIGNMENT_CONFIG; all figures as Java names them. */
export interface LeaseAssignmentConfig {
  leaseAssignmentStrategy: LeaseAssignmentStrategy;
  reBalanceThresholdPercentage: number;
  dampeningPercentage: number;
  allowThroughputOvershoot: boolean;
  maxThroughputPerHostKBps: number;
  /** Balance on every Nth run only (the first run after taking leadership balances). */
  varianceBalancingFrequency: number;
  workerMetricsEMAAlpha: number;
  /** A worker whose metrics are older than 2 x this is dead. */
  workerMetricsReporterFreqInMillis: number;
  maxLeasesForWorker: number;
  /** failoverTimeMillis: a lease whose counter has not moved for this long is expired. */
  leaseDurationMillis: number;
  isGracefulLeaseHandoffEnabled: boolean;
  gracefulLeaseHandoffTimeoutMillis: number;
}

export const DEFAULT_LEASE_ASSIGNMENT_CONFIG: Readonly<LeaseAssignmentConfig> = Object.freeze({
  leaseAssignmentStrategy: 'WORKER_UTILIZATION_AWARE',
  reBalanceThresholdPercentage: 10,
  dampeningPercentage: 60,
  allowThroughputOvershoot: true,
  maxThroughputPerHostKBps: Number.MAX_VALUE,
  varianceBalancingFrequency: 3,
  workerMetricsEMAAlpha: 0.5,
  workerMetricsReporterFreqInMillis: 30000,
  maxLeasesForWorker: 2147483647,
  leaseDurationMillis: 10000,
  isGracefulLeaseHandoffEnabled: true,
  gracefulLeaseHandoffTimeoutMillis: 30000,
});

/** What the leader remembers between runs (Java: prevRunLeasesState and lamRunCounter). Start with initialAssignmentMemory() on taking leadership. */
export interface AssignmentMemory {
  readonly leases: ReadonlyMap<string, RememberedLease>;
  readonly lamRunCounter: number;
}

export interface RememberedLease {
  leaseCounter: number;
  leaseOwner: string | undefined;
  checkpointOwner: string | undefined;
  lastCounterIncrementNanos: number;
  checkpointOwnerTimeoutTimestampMillis: number | undefined;
}

export const initialAssignmentMemory = (): AssignmentMemory => ({ leases: new Map(), lamRunCounter: 0 });

export interface LeaseAssignmentInput {
  /** Every lease in the table, in scan order. */
  leases: readonly AssignmentLease[];
  /** Every WorkerMetricStats item read (invalid and dead ones are filtered here). */
  workerMetrics: readonly WorkerMetricStats[];
  config: LeaseAssignmentConfig;
  memory: AssignmentMemory;
  /** Monotonic clock of the scan (process.hrtime), for lease expiry and handoff timeouts. */
  nowNanos: number;
  /** Wall clock, for the workers' `lut` (epoch seconds). */
  nowEpochMillis: number;
  /** Collections.shuffle's source (java.util.Random in Java); inject a seeded one in tests. */
  random: ShuffleRandom;
}

/** One write for the leader to make: `assignLease` (plain) or `initiateGracefulLeaseHandoff`. */
export interface LeaseAssignment {
  /** The lease as scanned: the write's conditions compare against it. */
  lease: AssignmentLease;
  newOwner: string;
  mode: 'assign' | 'gracefulHandoff';
}

export interface LeaseAssignmentDecisions {
  assignments: LeaseAssignment[];
  /** Reassigned in memory but still waiting for the old owner's checkpoint: not written this run. */
  blockedOnPendingCheckpoint: string[];
  /** Expired or unassigned leases no worker could take (LeaseSpillover). */
  spillover: string[];
  balanced: boolean;
  activeWorkers: string[];
  /** Memory for the next run; after each successful write apply recordAssignmentWrite. */
  memory: AssignmentMemory;
}

const MAX_ABS_AGE_NANOS = 365 * 24 * 3600 * 1e9;

function isExpired(l: LeaseInRun, leaseDurationNanos: number, asOfNanos: number): boolean {
  const age = asOfNanos - l.lastCounterIncrementNanos;
  return Math.abs(age) > MAX_ABS_AGE_NANOS || age > leaseDurationNanos;
}

const nanosToMillis = (nanos: number): number => Math.floor(nanos / 1e6);

/**
 * One run of Java's LeaseAssignmentManager as a pure function: expired and unassigned leases
 * first, then (every varianceBalancingFrequency-th run) variance-based rebalancing, then the
 * writes to make, skipping leases still blocked on a pending handoff checkpoint.
 */
export function decideLeaseAssignments(input: LeaseAssignmentInput): LeaseAssignmentDecisions {
  const { config, memory, nowNanos } = input;
  const nowMillis = nanosToMillis(nowNanos);
  const handoffDeadline = nowMillis + config.gracefulLeaseHandoffTimeoutMillis + config.leaseDurationMillis;
  // LAMDataManager: valid entries only, and a worker silent for 2 reporter periods is dead.
  const liveMetrics = input.workerMetrics.filter((w) => isValidWorkerMetric(w) && !isWorkerMetricStatsExpired(w, 2 * config.workerMetricsReporterFreqInMillis, input.nowEpochMillis));
  const view = new InMemoryStorageView(input.leases, liveMetrics, config);
  const decider: LeaseAssignmentDecider =
    config.leaseAssignmentStrategy === 'LEASE_COUNT_BASED'
      ? new LeaseCountBasedLeaseAssignmentDecider(view, config.maxLeasesForWorker, nowMillis)
      : new VarianceBasedLeaseAssignmentDecider(view, config, input.random);

  stampLeases(view.leases, memory, nowNanos, handoffDeadline);
  const leaseDurationNanos = config.leaseDurationMillis * 1e6;
  const expiredOrUnassigned = view.leases.filter((l) => isExpired(l, leaseDurationNanos, nowNanos) || l.actualOwner === undefined);
  for (const l of expiredOrUnassigned) l.isExpiredOrUnassigned = true;
  decider.assignExpiredOrUnassignedLeases(expiredOrUnassigned);

  const balanced = memory.lamRunCounter === 0;
  if (balanced) decider.balanceWorkerVariance();

  const assignments: LeaseAssignment[] = [];
  const blocked: string[] = [];
  for (const [l, newOwner] of view.newAssignments) {
    if (blockedOnPendingCheckpoint(l, nowMillis)) blocked.push(l.lease.leaseKey);
    else assignments.push({ lease: l.lease, newOwner, mode: config.isGracefulLeaseHandoffEnabled && isEligibleForGracefulShutdown(l) ? 'gracefulHandoff' : 'assign' });
  }
  return {
    assignments,
    blockedOnPendingCheckpoint: blocked,
    spillover: expiredOrUnassigned.map((l) => l.lease.leaseKey),
    balanced,
    activeWorkers: view.activeWorkerIds,
    memory: { leases: remember(view.leases), lamRunCounter: (memory.lamRunCounter + 1) % config.varianceBalancingFrequency },
  };
}

/**
 * updateLeasesLastCounterIncrementNanosAndLeaseShutdownTimeout: a lease whose counter moved since
 * the last run is fresh as of this scan; first sight: unassigned = 0 (first in line), owned = now.
 * A handoff seen for the first time (or with other owners) gets its timeout from now.
 */
function stampLeases(leases: LeaseInRun[], memory: AssignmentMemory, nowNanos: number, handoffDeadline: number): void {
  for (const l of leases) {
    const prev = memory.leases.get(l.lease.leaseKey);
    if (shutdownRequested(l)) {
      const sameHandoff = prev !== undefined && prev.checkpointOwner !== undefined && prev.leaseOwner === l.lease.leaseOwner && prev.checkpointOwner === l.lease.checkpointOwner;
      l.checkpointOwnerTimeoutTimestampMillis = sameHandoff ? prev.checkpointOwnerTimeoutTimestampMillis : handoffDeadline;
    }
    if (prev === undefined) l.lastCounterIncrementNanos = l.actualOwner === undefined ? 0 : nowNanos;
    else l.lastCounterIncrementNanos = l.lease.leaseCounter > prev.leaseCounter ? nowNanos : prev.lastCounterIncrementNanos;
  }
}

function remember(leases: readonly LeaseInRun[]): Map<string, RememberedLease> {
  return new Map(
    leases.map((l) => [
      l.lease.leaseKey,
      {
        leaseCounter: l.lease.leaseCounter,
        leaseOwner: l.lease.leaseOwner,
        checkpointOwner: l.lease.checkpointOwner,
        lastCounterIncrementNanos: l.lastCounterIncrementNanos,
        checkpointOwnerTimeoutTimestampMillis: l.checkpointOwnerTimeoutTimestampMillis,
      },
    ]),
  );
}

/**
 * After a successful write, remember the lease as written (Java updates its Lease object from the
 * response): an assignment restarts the expiry clock; a handoff starts its timeout.
 */
export function recordAssignmentWrite(
  memory: AssignmentMemory,
  written: { leaseKey: string; leaseOwner?: string; checkpointOwner?: string; leaseCounter: number },
  mode: LeaseAssignment['mode'],
  config: Pick<LeaseAssignmentConfig, 'gracefulLeaseHandoffTimeoutMillis' | 'leaseDurationMillis'>,
  nowNanos: number,
): AssignmentMemory {
  const prev = memory.leases.get(written.leaseKey);
  if (prev === undefined) return memory;
  const next: RememberedLease = { ...prev, leaseCounter: written.leaseCounter, leaseOwner: written.leaseOwner, checkpointOwner: written.checkpointOwner };
  if (mode === 'assign') next.lastCounterIncrementNanos = nowNanos;
  else next.checkpointOwnerTimeoutTimestampMillis = nanosToMillis(nowNanos) + config.gracefulLeaseHandoffTimeoutMillis + config.leaseDurationMillis;
  const leases = new Map(memory.leases);
  leases.set(written.leaseKey, next);
  return { ...memory, leases };
}
