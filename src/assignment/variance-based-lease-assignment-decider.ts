import type { InMemoryStorageView, LeaseInRun } from './in-memory-storage-view.ts';
import { shutdownRequested } from './in-memory-storage-view.ts';
import { JavaPriorityQueue, javaAverage, javaDoubleCompare, javaHashMapOrder, javaShuffleInPlace, type ShuffleRandom } from '../common/java-collections.ts';
import type { WorkerLoad } from './worker-load.ts';

export interface VarianceBalancingConfig {
  dampeningPercentage: number;
  reBalanceThresholdPercentage: number;
  allowThroughputOvershoot: boolean;
}

/** The two steps every assignment decider offers (Java LeaseAssignmentDecider). */
export interface LeaseAssignmentDecider {
  /** Assigns what it can; leaves in the array the leases no worker could take. */
  assignExpiredOrUnassignedLeases(expiredOrUnassigned: LeaseInRun[]): void;
  balanceWorkerVariance(): void;
}

/**
 * Java VarianceBasedLeaseAssignmentDecider: the fleet average of each metric is the pivot; workers
 * above average × (1 + threshold) give away throughput proportional to their excess (dampened);
 * leases go to the workers with the most room, whose metrics are extrapolated as they receive.
 */
export class VarianceBasedLeaseAssignmentDecider implements LeaseAssignmentDecider {
  /** Metric name -> fleet average, in Java HashMap iteration order. */
  private readonly fleetAverages = new Map<string, number>();
  private readonly targetLeasePerWorker: number;
  private readonly assignable: JavaPriorityQueue<WorkerLoad>;

  constructor(
    private readonly view: InMemoryStorageView,
    private readonly config: VarianceBalancingConfig,
    private readonly random: ShuffleRandom,
  ) {
    const valuesByName = new Map<string, number[]>();
    for (const worker of view.activeWorkers) {
      for (const name of worker.metricNames()) {
        let values = valuesByName.get(name);
        if (values === undefined) valuesByName.set(name, (values = []));
        values.push(worker.getMetricStat(name));
      }
    }
    for (const name of javaHashMapOrder([...valuesByName.keys()])) this.fleetAverages.set(name, javaAverage(valuesByName.get(name)!)!);
    this.targetLeasePerWorker = Math.max(Math.trunc(view.leases.length / Math.max(view.activeWorkers.length, 1)), 1);
    // Most room first: the largest fraction of its load a worker can add before reaching the average.
    this.assignable = new JavaPriorityQueue((a, b) => javaDoubleCompare(b.computePercentageToReachAverage(this.fleetAverages), a.computePercentageToReachAverage(this.fleetAverages)));
    // Hot workers stay assignable too: the goal is to balance variance even when all are hot.
    for (const w of view.activeWorkers) if (this.hasRoom(w.workerId)) this.assignable.add(w);
  }

  private hasRoom(workerId: string): boolean {
    return this.view.isWorkerTotalThroughputLessThanMaxThroughput(workerId) && this.view.isWorkerAssignedLeasesLessThanMaxLeases(workerId);
  }

  assignExpiredOrUnassignedLeases(expiredOrUnassigned: LeaseInRun[]): void {
    // Oldest expiry first; unassigned leases carry 0 and go first of all (a stable sort, as Java's).
    expiredOrUnassigned.sort((a, b) => a.lastCounterIncrementNanos - b.lastCounterIncrementNanos);
    const assigned = new Set<LeaseInRun>();
    for (const lease of expiredOrUnassigned) {
      const worker = this.assignable.poll();
      if (worker === undefined) break; // no worker available: the rest wait for the next run
      this.assignLease(lease, worker, true);
      assigned.add(lease);
    }
    const left = expiredOrUnassigned.filter((l) => !assigned.has(l));
    expiredOrUnassigned.splice(0, expiredOrUnassigned.length, ...left);
  }

  /** The workers to take load from for one metric: empty unless someone is outside the threshold band or above its operating range. */
  private workersToTakeLeasesFrom(workers: readonly WorkerLoad[], name: string, average: number): WorkerLoad[] {
    const upper = average * (1.0 + this.config.reBalanceThresholdPercentage / 100);
    const lower = average * (1.0 - this.config.reBalanceThresholdPercentage / 100);
    const above: WorkerLoad[] = [];
    let mostLoaded: WorkerLoad | undefined;
    let trigger = false;
    for (const w of workers) {
      const value = w.getMetricStat(name);
      const aboveRange = w.isWorkerMetricAboveOperatingRange(name);
      if (value > upper || value < lower || aboveRange) trigger = true;
      if (value >= upper || aboveRange) above.push(w);
      if (mostLoaded === undefined || mostLoaded.getMetricStat(name) < value) mostLoaded = w;
    }
    // Only someone below the band: take from the most loaded.
    if (above.length === 0 && mostLoaded !== undefined) above.push(mostLoaded);
    return trigger ? above : [];
  }

  balanceWorkerVariance(): void {
    let toTake = new Map<string, number>();
    let maxThroughputTake = -1.0;
    for (const [name, average] of this.fleetAverages) {
      const workers = this.view.activeWorkers.filter((w) => w.containsMetricStat(name));
      const forMetric = new Map<string, number>();
      let total = 0;
      for (const w of this.workersToTakeLeasesFrom(workers, name, average)) {
        const value = w.getMetricStat(name);
        const loadPercentageToTake = (value - average) / value;
        const dampened = loadPercentageToTake * (this.config.dampeningPercentage / 100);
        const throughput = this.view.getTotalAssignedThroughput(w.workerId) * dampened;
        total += throughput;
        forMetric.set(w.workerId, throughput);
      }
      // The metric that asks to move the most throughput is the largest outlier: it alone drives this run.
      if (maxThroughputTake < total) {
        toTake = new Map(javaHashMapOrder([...forMetric.keys()]).map((id) => [id, forMetric.get(id)!]));
        maxThroughputTake = total;
      }
    }
    const byAmount = [...toTake].sort((a, b) => javaDoubleCompare(b[1], a[1]));
    for (const [workerId, throughput] of byAmount) {
      for (const lease of this.leasesToTake(workerId, throughput)) {
        const worker = this.assignable.poll();
        if (worker?.willAnyMetricStatsGoAboveAverageUtilizationOrOperatingRange(this.fleetAverages, this.view.targetAverageThroughput, lease.throughputKBps, this.targetLeasePerWorker)) {
          break; // the worker with most room would overshoot the average: stop taking from this worker
        }
        if (worker !== undefined) this.assignLease(lease, worker, false);
      }
    }
  }

  private leasesToTake(workerId: string, throughputToTake: number): LeaseInRun[] {
    const held = this.view.workerToLeases.get(workerId);
    if (held === undefined || held.length === 0) return [];
    // No throughput figures: move one lease and look again next run.
    if (this.view.getTotalAssignedThroughput(workerId) === 0) return held.slice(0, 1);
    return this.leasesCombiningToThroughput(held, throughputToTake);
  }

  private leasesCombiningToThroughput(held: readonly LeaseInRun[], throughputToGet: number): LeaseInRun[] {
    const candidates = [...held];
    javaShuffleInPlace(candidates, this.random);
    const out: LeaseInRun[] = [];
    let remaining = throughputToGet;
    for (const lease of candidates) {
      if (remaining - lease.throughputKBps <= 0) continue; // would overshoot the amount to take
      remaining -= lease.throughputKBps;
      out.push(lease);
    }
    if (this.config.allowThroughputOvershoot && out.length === 0) {
      let min: LeaseInRun | undefined;
      for (const l of candidates) if (min === undefined || javaDoubleCompare(l.throughputKBps, min.throughputKBps) < 0) min = l;
      if (min !== undefined) out.push(min);
    }
    return out;
  }

  private assignLease(lease: LeaseInRun, worker: WorkerLoad, isExpiredLease: boolean): void {
    // An expired lease stuck in a handoff may go back to its own checkpoint owner (else nobody processes it).
    const pendingCheckpointExpired = isExpiredLease && shutdownRequested(lease);
    if (!pendingCheckpointExpired && lease.actualOwner !== undefined && lease.actualOwner === worker.workerId) {
      this.assignable.add(worker); // already there: nothing to do, the worker stays available
      return;
    }
    worker.extrapolateMetricStatValuesForAddedThroughput(this.fleetAverages, this.view.targetAverageThroughput, lease.throughputKBps, this.targetLeasePerWorker);
    this.view.performLeaseAssignment(lease, worker.workerId);
    if (this.hasRoom(worker.workerId)) this.assignable.add(worker);
  }

  /** Metric name -> fleet average, for logs and tests. */
  fleetLevelAverages(): ReadonlyMap<string, number> {
    return this.fleetAverages;
  }
}
