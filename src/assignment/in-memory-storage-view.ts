import type { WorkerMetricStats } from '../workermetrics/worker-metric-stats.ts';
import { isAnyWorkerMetricFailing, isUsingDefaultWorkerMetric } from '../workermetrics/worker-metric-stats.ts';
import { javaAverage } from '../common/java-collections.ts';
import { WorkerLoad } from './worker-load.ts';

/** A lease as the 3.x leader sees it in one lease-table scan. */
export interface AssignmentLease {
  leaseKey: string;
  leaseOwner?: string;
  /** Set while a graceful handoff is pending: the old owner, still allowed to checkpoint. */
  checkpointOwner?: string;
  leaseCounter: number;
  /** Written by the owner on renew (3.x); absent on new or unassigned leases. */
  throughputKBps?: number;
  /** The checkpoint is SHARD_END. */
  shardEnded?: boolean;
}

/** The leader's working copy of one lease during a run (Java mutates its Lease objects the same way). */
export interface LeaseInRun {
  readonly lease: AssignmentLease;
  /** checkpointOwner ?? leaseOwner: during a handoff the old owner still carries the load. */
  readonly actualOwner: string | undefined;
  throughputKBps: number;
  lastCounterIncrementNanos: number;
  isExpiredOrUnassigned: boolean;
  checkpointOwnerTimeoutTimestampMillis?: number | undefined;
}

export const shutdownRequested = (l: LeaseInRun): boolean => l.lease.checkpointOwner !== undefined;

/** Blocked while the old owner may still checkpoint: assigned, not ended, handoff not timed out. */
export function blockedOnPendingCheckpoint(l: LeaseInRun, nowMillis: number): boolean {
  return !(l.isExpiredOrUnassigned || l.lease.shardEnded === true || !shutdownRequested(l) || nowMillis - (l.checkpointOwnerTimeoutTimestampMillis ?? Number.NEGATIVE_INFINITY) >= 0);
}

export function isEligibleForGracefulShutdown(l: LeaseInRun): boolean {
  return !l.isExpiredOrUnassigned && l.lease.shardEnded !== true && !shutdownRequested(l);
}

export interface StorageViewLimits {
  maxThroughputPerHostKBps: number;
  maxLeasesForWorker: number;
  workerMetricsEMAAlpha: number;
}

/**
 * LeaseAssignmentManager.InMemoryStorageView: who holds what and how much throughput, updated in
 * memory as the deciders assign, before anything is written.
 */
export class InMemoryStorageView {
  readonly leases: LeaseInRun[];
  readonly activeWorkers: WorkerLoad[];
  readonly activeWorkerIds: string[];
  /** Keyed by actual owner (undefined = unassigned), leases in scan order; insertion order kept for Java's HashMap order. */
  readonly workerToLeases = new Map<string | undefined, LeaseInRun[]>();
  readonly workerToTotalThroughput = new Map<string | undefined, number>();
  /** leaseToNewAssignedWorkerMap: the run's decisions, the last one per lease wins. */
  readonly newAssignments = new Map<LeaseInRun, string>();
  readonly targetAverageThroughput: number;

  constructor(leases: readonly AssignmentLease[], validWorkerMetrics: readonly WorkerMetricStats[], private readonly limits: StorageViewLimits) {
    // Workers whose latest capture failed get nothing new this run.
    const reporting = validWorkerMetrics.filter((w) => !isAnyWorkerMetricFailing(w));
    this.activeWorkers = reporting.map((w) => new WorkerLoad(w));
    const known = leases.map((l) => l.throughputKBps).filter((t): t is number => t !== undefined);
    // No lease has a figure yet at application start: start from 0.
    const averageLeaseThroughput = javaAverage(known) ?? 0;
    this.targetAverageThroughput = (averageLeaseThroughput * leases.length) / Math.max(1, this.activeWorkers.length);
    this.leases = leases.map((lease) => ({
      lease,
      actualOwner: lease.checkpointOwner ?? lease.leaseOwner,
      // An unassigned lease has no figure: the average is a good enough start.
      throughputKBps: lease.throughputKBps ?? averageLeaseThroughput,
      lastCounterIncrementNanos: 0,
      isExpiredOrUnassigned: false,
    }));
    for (const l of this.leases) {
      this.leasesOf(l.actualOwner, true).push(l);
      this.addThroughput(l.actualOwner, l.throughputKBps);
    }
    const ids = new Set<string>();
    this.activeWorkers.forEach((worker, i) => {
      ids.add(worker.workerId);
      worker.emaAlpha = limits.workerMetricsEMAAlpha;
      // A worker without CPU etc. is balanced by throughput: 100 = the fleet's average share.
      if (isUsingDefaultWorkerMetric(reporting[i]!)) {
        const ratio = this.getTotalAssignedThroughput(worker.workerId) / this.targetAverageThroughput;
        worker.operatingRange = { T: [100] };
        worker.metricStats = { T: [ratio * 100, ratio * 100] };
      }
    });
    this.activeWorkerIds = [...ids];
  }

  private leasesOf(workerId: string | undefined, create: boolean): LeaseInRun[] {
    let list = this.workerToLeases.get(workerId);
    if (list === undefined) {
      list = [];
      if (create) this.workerToLeases.set(workerId, list);
    }
    return list;
  }

  private addThroughput(workerId: string | undefined, kbps: number): void {
    this.workerToTotalThroughput.set(workerId, (this.workerToTotalThroughput.get(workerId) ?? 0) + kbps);
  }

  getTotalAssignedThroughput(workerId: string): number {
    return this.workerToTotalThroughput.get(workerId) ?? 0;
  }

  /** Move a lease in memory. Java keys the removal by the lease's scanned owner, even on a second move in one run. */
  performLeaseAssignment(l: LeaseInRun, newOwner: string): void {
    const from = this.workerToLeases.get(l.actualOwner);
    const at = from?.indexOf(l) ?? -1;
    if (from !== undefined && at >= 0) from.splice(at, 1);
    const to = this.leasesOf(newOwner, true);
    if (!to.includes(l)) to.push(l);
    this.addThroughput(newOwner, l.throughputKBps);
    this.addThroughput(l.actualOwner, -l.throughputKBps);
    this.newAssignments.set(l, newOwner);
  }

  isWorkerTotalThroughputLessThanMaxThroughput(workerId: string): boolean {
    return this.getTotalAssignedThroughput(workerId) <= this.limits.maxThroughputPerHostKBps;
  }

  isWorkerAssignedLeasesLessThanMaxLeases(workerId: string): boolean {
    const held = this.workerToLeases.get(workerId);
    return held === undefined || held.length === 0 || held.length < this.limits.maxLeasesForWorker;
  }
}
