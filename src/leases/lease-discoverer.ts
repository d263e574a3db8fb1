import type { Lease } from './lease.ts';
import type { CallOptions, LeaseRefresher } from './lease-refresher.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { mapBounded } from '../common/bounded.ts';

/** A worker given many leases at once reads them a few at a time (Java: its discovery thread pool). */
const READS_IN_FLIGHT = 8;

/** The reads 3.x discovery makes: the owner index, then each new lease. */
export type DiscoveryRefresher = Pick<LeaseRefresher, 'getLease'> & {
  listLeaseKeysForWorker(owner: string, options?: CallOptions): Promise<string[]>;
};

/**
 * Java KCL 3.x DynamoDBLeaseDiscoverer: a worker in 3.x mode takes nothing; the leader assigns, and
 * the worker finds what it was given through the `LeaseOwnerToLeaseKeyIndex` GSI. The index is
 * eventually consistent, so each new key is read back: a lease owned by someone else by now, or one
 * still waiting for its old owner's handoff checkpoint, is left for the next round.
 */
export class LeaseDiscoverer {
  constructor(
    private readonly refresher: DiscoveryRefresher,
    private readonly workerId: string,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** The leases assigned to this worker that it does not hold yet. */
  async discoverNewLeases(held: ReadonlySet<string>, signal: AbortSignal): Promise<Lease[]> {
    const scope = this.metrics.scope('LeaseDiscovery', { WorkerIdentifier: this.workerId });
    const started = performance.now();
    let success = false;
    try {
      const keys = await this.refresher.listLeaseKeysForWorker(this.workerId, { abortSignal: signal });
      const fresh = keys.filter((k) => !held.has(k));
      let mismatched = 0;
      const leases = await mapBounded(fresh, READS_IN_FLIGHT, async (key) => {
        try {
          const lease = await this.refresher.getLease(key, { abortSignal: signal });
          if (lease === undefined) return undefined;
          if (lease.leaseOwner !== this.workerId) {
            mismatched++;
            return undefined;
          }
          return lease.checkpointOwner === undefined ? lease : undefined; // the old owner is still checkpointing
        } catch (err) {
          if (!signal.aborted) this.logger.warn({ leaseKey: key, ...errorFields(err) }, 'Could not read a newly assigned lease; the next round tries again');
          return undefined;
        }
      });
      const found = leases.filter((l): l is Lease => l !== undefined);
      if (found.length > 0) this.logger.info({ leases: found.map((l) => l.leaseKey) }, 'New leases assigned to this worker');
      scope.add('NewLeasesDiscovered', found.length, 'Count', 'DETAILED').add('OwnerMismatch', mismatched, 'Count', 'DETAILED');
      success = true;
      return found;
    } finally {
      scope.addSuccessAndLatency(undefined, success, started, 'SUMMARY').end();
    }
  }
}
