import type { Lease } from './lease.ts';
import type { LeaseRefresher } from './lease-refresher.ts';
import { selectLeasesToTake, type Selection } from './lease-selection.ts';
import { monotonicNow } from '../common/backoff.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

interface Stamp {
  counter: number;
  owner: string | undefined;
  /** Monotonic time the counter was last seen to change; -Infinity for a lease first seen unowned. */
  changedAtMs: number;
}

export interface LeaseTakerOptions {
  workerId: string;
  failoverTimeMs: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  enablePriorityLeaseAssignment: boolean;
}

/**
 * Scans the lease table and takes leases (Java's DynamoDBLeaseTaker). Expiry is judged only by a
 * lease's counter not changing for failoverTimeMs on this worker's monotonic clock.
 */
export class LeaseTaker {
  private readonly stamps = new Map<string, Stamp>();
  /** The last scan, for callers that want the table's shape (leader election, shard sync). */
  lastScan: Lease[] = [];
  /** Whether the last round selected any lease to take (false: this worker wanted nothing). */
  lastRoundWanted = false;

  constructor(
    private readonly refresher: LeaseRefresher,
    private readonly options: LeaseTakerOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Records what this scan saw; a lease first seen owned counts as just renewed (a full wait to expire). */
  updateStamps(leases: Lease[], now = monotonicNow()): void {
    const seen = new Set<string>();
    for (const lease of leases) {
      seen.add(lease.leaseKey);
      const old = this.stamps.get(lease.leaseKey);
      if (!old) {
        this.stamps.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, changedAtMs: lease.leaseOwner === undefined ? -Infinity : now });
      } else if (old.counter !== lease.leaseCounter || old.owner !== lease.leaseOwner) {
        this.stamps.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, changedAtMs: now });
      }
    }
    for (const key of this.stamps.keys()) if (!seen.has(key)) this.stamps.delete(key);
  }

  classify(leases: Lease[], now = monotonicNow()): { expiredOrUnowned: Set<string>; veryOld: Set<string> } {
    const expiredOrUnowned = new Set<string>();
    const veryOld = new Set<string>();
    for (const lease of leases) {
      const age = now - (this.stamps.get(lease.leaseKey)?.changedAtMs ?? now);
      if (lease.leaseOwner === undefined || age > this.options.failoverTimeMs) expiredOrUnowned.add(lease.leaseKey);
      // Only owned leases can be very old: an unowned one is free, not a sign of a dead worker.
      if (lease.leaseOwner !== undefined && age > 3 * this.options.failoverTimeMs) veryOld.add(lease.leaseKey);
    }
    return { expiredOrUnowned, veryOld };
  }

  /** One taker round: scan, decide, take. Returns the leases now owned by this worker. */
  async takeLeases(heldKeys: Set<string>): Promise<Lease[]> {
    const scope = this.metrics.scope('TakeLeases', { WorkerIdentifier: this.options.workerId });
    const start = monotonicNow();
    let leases: Lease[];
    try {
      leases = await this.refresher.listLeases();
      scope.addSuccessAndLatency('ListLeases', true, start);
    } catch (err) {
      scope.addSuccessAndLatency('ListLeases', false, start).addSuccessAndLatency(undefined, false, start, 'SUMMARY').end();
      throw err;
    }
    this.lastScan = leases;
    this.updateStamps(leases);
    const { expiredOrUnowned, veryOld } = this.classify(leases);
    // Leases this worker holds in its renewer are never "available" to itself, even if the scan is stale.
    for (const key of heldKeys) expiredOrUnowned.delete(key);
    const selection = selectLeasesToTake({ ...this.options, leases, expiredOrUnowned, veryOld });
    this.lastRoundWanted = selection.toTake.length > 0;
    const taken = await this.take(selection, scope);
    scope
      .add('TakenLeases', taken.length, 'Count', 'SUMMARY')
      .add('UntakenLeases', selection.toTake.length - taken.length, 'Count')
      .add('ExpiredLeases', expiredOrUnowned.size, 'Count', 'SUMMARY')
      .add('VeryOldLeases', veryOld.size, 'Count')
      .add('LeaseSpillover', selection.spillover, 'Count')
      .add('NeededLeases', Math.max(0, selection.target - heldKeys.size), 'Count')
      .add('LeasesToTake', selection.toTake.length, 'Count')
      .add('NumWorkers', selection.numWorkers, 'Count', 'SUMMARY')
      .add('TotalLeases', leases.length, 'Count', 'SUMMARY')
      .addSuccessAndLatency(undefined, true, start, 'SUMMARY')
      .end();
    return taken;
  }

  private async take(selection: Selection, scope: ReturnType<Metrics['scope']>): Promise<Lease[]> {
    const taken: Lease[] = [];
    for (const lease of selection.toTake) {
      const start = monotonicNow();
      const from = lease.leaseOwner;
      try {
        const ok = await this.refresher.takeLease(lease, this.options.workerId);
        scope.addSuccessAndLatency('TakeLease', ok, start);
        if (ok) {
          taken.push(lease);
          this.stamps.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, changedAtMs: monotonicNow() });
          this.logger.info({ leaseKey: lease.leaseKey, from, stolen: selection.steals.includes(lease) }, 'Took lease');
        }
      } catch (err) {
        scope.addSuccessAndLatency('TakeLease', false, start);
        this.logger.warn({ leaseKey: lease.leaseKey, ...errorFields(err) }, 'Could not take lease');
      }
    }
    return taken;
  }
}
