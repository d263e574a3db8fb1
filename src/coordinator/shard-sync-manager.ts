import type { Lease } from '../leases/lease.ts';
import type { LeaseRefresher } from '../leases/lease-refresher.ts';
import { childrenOf, createLeases, determineNewLeases, newLease, withParentLeases, type InitialPositionName } from '../leases/hierarchical-shard-syncer.ts';
import { garbageCandidates, leasesToDelete } from '../leases/lease-cleanup.ts';
import type { ShardDetector, ShardInfo } from '../retrieval/shard-detector.ts';
import type { ChildShard } from '../processor/shard-record-processor.ts';
import { TRIM_HORIZON } from '../retrieval/extended-sequence-number.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

/**
 * Keeps the lease table in step with the stream's shards: leases for new shards (start-up, periodic,
 * and children at a parent's end) and deletion of finished or vanished shards' leases.
 */
export class ShardSyncManager {
  constructor(
    private readonly detector: ShardDetector,
    private readonly refresher: LeaseRefresher,
    private readonly initialPosition: InitialPositionName,
    private readonly cleanupLeasesUponShardCompletion: boolean,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** One full sync: lists shards and leases, creates the missing leases. Returns how many it created. */
  async syncShards(signal?: AbortSignal): Promise<{ created: number; shards: ShardInfo[]; leases: Lease[] }> {
    const scope = this.metrics.scope('ShardSyncTask');
    const start = performance.now();
    let ok = false;
    try {
      const shards = await this.detector.listShards(signal);
      const leases = await this.refresher.listLeases(signal ? { abortSignal: signal } : {});
      const toCreate = determineNewLeases(shards, leases, this.initialPosition);
      const created = await createLeases(this.refresher, toCreate);
      if (created > 0) this.logger.info({ created, shards: shards.length }, 'Shard sync created leases');
      scope.add('CreateLease.Success', created, 'Count');
      ok = true;
      return { created, shards, leases: [...leases, ...toCreate] };
    } finally {
      scope.addSuccessAndLatency('SyncShards', ok, start, 'SUMMARY').end();
    }
  }

  /**
   * Periodic work of the elected worker: sync, then delete completed leases and the leases of shards
   * that are gone. Never from the listing: ListShards runs before the Scan, so a split landing between
   * them leaves live children out of it. Each unlisted lease's shard is asked (GetShardIterator); only
   * ResourceNotFound makes it garbage, and a failed check deletes nothing.
   */
  async syncAndCleanUp(signal?: AbortSignal): Promise<void> {
    const { shards, leases } = await this.syncShards(signal);
    const gone = await this.goneShards(garbageCandidates(leases, new Set(shards.map((s) => s.shardId))), signal);
    const { completed, garbage } = leasesToDelete(leases, gone);
    for (const lease of [...(this.cleanupLeasesUponShardCompletion ? completed : []), ...garbage]) {
      try {
        await this.refresher.deleteLease(lease.leaseKey);
        this.logger.info({ leaseKey: lease.leaseKey, reason: completed.includes(lease) ? 'completed' : 'shard no longer exists' }, 'Deleted lease');
      } catch (err) {
        this.logger.warn({ leaseKey: lease.leaseKey, ...errorFields(err) }, 'Could not delete lease; next sync retries');
      }
    }
  }

  /** The candidates' shards that answered ResourceNotFound; a failed check leaves its shard out. */
  private async goneShards(candidates: Lease[], signal?: AbortSignal): Promise<Set<string>> {
    const gone = new Set<string>();
    for (const lease of candidates) {
      try {
        if (!(await this.detector.shardExists(lease.leaseKey, signal))) gone.add(lease.leaseKey);
      } catch (err) {
        if (signal?.aborted) break;
        this.logger.warn({ leaseKey: lease.leaseKey, ...errorFields(err) }, 'Could not check whether a shard exists; its lease stays, next sync retries');
      }
    }
    return gone;
  }

  /**
   * At a parent's end: creates its children's leases at TRIM_HORIZON (whatever the initial position)
   * and records them on the parent. Children come from GetRecords' ChildShards, else from ListShards.
   * A merge child's other parent may have no lease yet (a split child of a shard that has not ended):
   * its lease is created first, so the merge child waits for it.
   */
  async createChildLeases(parent: Lease, childShards: ChildShard[] | undefined): Promise<string[]> {
    let shards: ShardInfo[] | undefined;
    const children: ShardInfo[] =
      childShards && childShards.length > 0
        ? childShards.map((c) => ({
            shardId: c.shardId,
            ...(c.parentShards[0] !== undefined ? { parentShardId: c.parentShards[0] } : {}),
            ...(c.parentShards[1] !== undefined ? { adjacentParentShardId: c.parentShards[1] } : {}),
            hashKeyRange: c.hashKeyRange ?? { startingHashKey: '0', endingHashKey: (2n ** 128n - 1n).toString() },
          }))
        : childrenOf(parent.leaseKey, (shards = await this.detector.listShards()));
    let leases = children.map((c) => newLease(c, TRIM_HORIZON));
    if (leases.some((l) => l.parentShardIds.some((p) => p !== parent.leaseKey))) {
      shards ??= await this.detector.listShards();
      leases = withParentLeases(leases, shards, await this.refresher.listLeases(), this.initialPosition);
    }
    await createLeases(this.refresher, leases);
    const ids = children.map((c) => c.shardId);
    if (ids.length > 0) await this.refresher.updateLeaseChildShardIds(parent.leaseKey, ids);
    return ids;
  }

  /**
   * For a child that has not started (TRIM_HORIZON) and parents without a lease: returns the parents it
   * need not wait for (gone from the stream, or consumed before it); the others get their leases created
   * (with the same rules as a sync), so the child waits for them. A failed check throws: the child waits.
   */
  async resolveMissingParents(child: Lease, missing: string[], signal?: AbortSignal): Promise<string[]> {
    const done: string[] = [];
    for (const id of missing) if (!(await this.detector.shardExists(id, signal))) done.push(id);
    const present = missing.filter((id) => !done.includes(id));
    if (present.length === 0) return done;
    const shards = await this.detector.listShards(signal);
    const existing = await this.refresher.listLeases(signal ? { abortSignal: signal } : {});
    const toCreate = withParentLeases([child], shards, existing.filter((l) => l.leaseKey !== child.leaseKey), this.initialPosition).filter((l) => l.leaseKey !== child.leaseKey);
    const created = await createLeases(this.refresher, toCreate);
    for (const id of present) {
      if (toCreate.some((l) => l.leaseKey === id) || existing.some((l) => l.leaseKey === id)) continue;
      this.logger.warn({ leaseKey: child.leaseKey, parentShardId: id }, 'A parent shard without a lease is consumed or unlisted; not waiting for it');
      done.push(id);
    }
    if (created > 0) this.logger.info({ leaseKey: child.leaseKey, created }, 'Created leases for the parents of a child that had none');
    return done;
  }
}
