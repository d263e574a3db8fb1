import type { LeaseRefresher } from './lease-refresher.ts';
import { isShardEnded, type Lease } from './lease.ts';
import { leasesToDelete } from './lease-cleanup.ts';
import { Periodic } from '../common/periodic.ts';
import { errorFields, type Logger } from '../common/logger.ts';

export interface LeaseCleanupOptions {
  workerId: string;
  /** Java leaseCleanupIntervalMillis: how often the queue is looked at. */
  leaseCleanupIntervalMs: number;
  /** Java completedLeaseCleanupIntervalMillis: time since start-up or the last deletion before ended leases are checked. */
  completedLeaseCleanupIntervalMs: number;
  /** Called once a lease is deleted, so the worker stops renewing it. */
  onDeleted(leaseKey: string): void;
}

/**
 * Java 2.x's LeaseCleanupManager: every worker deletes the leases its own consumers ended, whoever
 * leads, once every child lease exists and has started and the lease's own parents are gone. The
 * delete is conditional (still this worker's, still SHARD_END): a lease another worker took since is
 * left to that worker, which ends the shard again and queues it there.
 */
export class LeaseCleanupManager {
  private readonly queue = new Set<string>();
  private lastCompletedCleanup = performance.now();
  private loop: Periodic | undefined;

  constructor(
    private readonly refresher: LeaseRefresher,
    private readonly options: LeaseCleanupOptions,
    private readonly logger: Logger,
  ) {}

  start(signal: AbortSignal): void {
    this.lastCompletedCleanup = performance.now();
    this.loop = new Periodic(() => this.cleanupLeases(signal), this.options.leaseCleanupIntervalMs, signal, (err) =>
      this.logger.warn(errorFields(err), 'Lease cleanup failed; next round retries'),
    { initialDelayMs: this.options.leaseCleanupIntervalMs });
  }

  /** Queues a lease this worker's consumer ended (SHARD_END checkpointed). */
  enqueue(leaseKey: string): void {
    this.queue.add(leaseKey);
  }

  pending(): string[] {
    return [...this.queue];
  }

  /** One round: nothing before completedLeaseCleanupIntervalMs has passed since start-up or the last deletion. */
  async cleanupLeases(signal?: AbortSignal): Promise<void> {
    if (this.queue.size === 0 || performance.now() - this.lastCompletedCleanup < this.options.completedLeaseCleanupIntervalMs) return;
    let deleted = false;
    for (const key of [...this.queue]) {
      if (signal?.aborted) return;
      try {
        const outcome = await this.cleanupOne(key, signal);
        if (outcome === 'waiting') continue;
        this.queue.delete(key);
        if (outcome === 'deleted') {
          deleted = true;
          this.options.onDeleted(key);
          this.logger.info({ leaseKey: key }, 'Deleted the lease of a shard this worker ended: its children have started');
        }
      } catch (err) {
        if (signal?.aborted) return;
        this.logger.warn({ leaseKey: key, ...errorFields(err) }, 'Could not clean up an ended lease; next round retries');
      }
    }
    if (deleted) this.lastCompletedCleanup = performance.now();
  }

  /** 'deleted', 'gone' (deleted elsewhere, or no longer this worker's ended lease) or 'waiting' (children not started yet). */
  private async cleanupOne(key: string, signal?: AbortSignal): Promise<'deleted' | 'gone' | 'waiting'> {
    const opts = signal ? { abortSignal: signal } : {};
    const lease = await this.refresher.getLease(key, opts);
    if (lease === undefined || !isShardEnded(lease) || lease.leaseOwner !== this.options.workerId) return 'gone';
    const related: Lease[] = [lease];
    for (const id of [...lease.childShardIds, ...lease.parentShardIds]) {
      const other = await this.refresher.getLease(id, opts);
      if (other) related.push(other);
    }
    if (!leasesToDelete(related, new Set()).completed.includes(lease)) return 'waiting';
    return (await this.refresher.deleteEndedLease(key, this.options.workerId, opts)) ? 'deleted' : 'gone';
  }
}
