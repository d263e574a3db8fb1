import { blockedOnPendingCheckpoint, type InMemoryStorageView, type LeaseInRun } from './in-memory-storage-view.ts';
import { javaHashMapOrder } from '../common/java-collections.ts';
import type { LeaseAssignmentDecider } from './variance-based-lease-assignment-decider.ts';

/**
 * Java LeaseCountBasedLeaseAssignmentDecider (leaseAssignmentStrategy LEASE_COUNT_BASED): even
 * lease counts, metrics ignored. New leases fill the least-loaded workers up to the target; then
 * the most-loaded give to the least-loaded, never a lease whose handoff is still pending.
 */
export class LeaseCountBasedLeaseAssignmentDecider implements LeaseAssignmentDecider {
  constructor(
    private readonly view: InMemoryStorageView,
    private readonly maxLeasesForWorker: number,
    private readonly nowMillis: number,
  ) {}

  assignExpiredOrUnassignedLeases(expiredOrUnassigned: LeaseInRun[]): void {
    if (expiredOrUnassigned.length === 0 || this.view.activeWorkerIds.length === 0) return;
    expiredOrUnassigned.sort((a, b) => a.lastCounterIncrementNanos - b.lastCounterIncrementNanos);
    const counts = this.activeWorkerLeaseCounts();
    const target = this.targetLeaseCount();
    const queue = this.sortedByCount(counts).map(([id]) => id);
    const assigned = new Set<LeaseInRun>();
    let index = 0;
    for (const lease of expiredOrUnassigned) {
      if (index >= queue.length) break;
      const worker = queue[index]!;
      this.view.performLeaseAssignment(lease, worker);
      assigned.add(lease);
      const count = counts.get(worker)! + 1;
      counts.set(worker, count);
      if (count >= target) index++;
    }
    const left = expiredOrUnassigned.filter((l) => !assigned.has(l));
    expiredOrUnassigned.splice(0, expiredOrUnassigned.length, ...left);
  }

  balanceWorkerVariance(): void {
    if (this.view.activeWorkerIds.length === 0) return;
    const available = this.availableLeases();
    const target = this.targetLeaseCount();
    const sorted = this.sortedByCount(this.activeWorkerLeaseCounts());
    // Two pointers: left = under target, right = over target.
    let left = 0;
    let right = sorted.length - 1;
    while (left < right) {
      const under = sorted[left]!;
      const over = sorted[right]!;
      if (target - under[1] <= 0) {
        left++;
        continue;
      }
      if (over[1] - target <= 0) {
        right--;
        continue;
      }
      const lease = available.get(over[0])?.shift();
      if (lease === undefined) {
        right--;
        continue;
      }
      this.view.performLeaseAssignment(lease, under[0]);
      under[1]++;
      over[1]--;
    }
  }

  /** ceil(leases / workers), at least 1, at most maxLeasesForWorker (the rest spills over). */
  private targetLeaseCount(): number {
    const leases = this.view.leases.length;
    const workers = this.view.activeWorkerIds.length;
    if (workers >= leases) return 1;
    const target = Math.trunc(leases / workers) + (leases % workers === 0 ? 0 : 1);
    return Math.min(target, this.maxLeasesForWorker);
  }

  /** Active worker -> leases it holds now (in memory), 0 for those holding none; Java HashMap order. */
  private activeWorkerLeaseCounts(): Map<string, number> {
    const active = new Set(this.view.activeWorkerIds);
    const counts = new Map<string, number>();
    for (const [id, leases] of this.view.workerToLeases) if (id !== undefined && active.has(id)) counts.set(id, leases.length);
    for (const id of this.view.activeWorkerIds) if (!counts.has(id)) counts.set(id, 0);
    return new Map(javaHashMapOrder([...counts.keys()]).map((id) => [id, counts.get(id)!]));
  }

  /** Stable sort by count, ties in the map's iteration order (as Java's stream sorted()). */
  private sortedByCount(counts: ReadonlyMap<string, number>): [string, number][] {
    return [...counts].sort((a, b) => a[1] - b[1]);
  }

  private availableLeases(): Map<string, LeaseInRun[]> {
    const out = new Map<string, LeaseInRun[]>();
    for (const [id, leases] of this.view.workerToLeases) {
      if (id === undefined) continue;
      const free = leases.filter((l) => !blockedOnPendingCheckpoint(l, this.nowMillis));
      if (free.length > 0) out.set(id, free);
    }
    return out;
  }
}
