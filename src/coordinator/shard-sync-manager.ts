import type { Lease } from '../leases/lease.ts';
import type { LeaseRefresher } from '../leases/lease-refresher.ts';
import { childrenOf, createLeases, determineNewLeases, newLease, type InitialPositionName } from '../leases/hierarchical-shard-syncer.ts';
import { leasesToDelete } from '../leases/lease-cleanup.ts';
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

  /** Periodic work of the elected worker: sync, then delete completed and vanished shards' leases. */
  async syncAndCleanUp(signal?: AbortSignal): Promise<void> {
    const { shards, leases } = await this.syncShards(signal);
    const { completed, garbage } = leasesToDelete(leases, new Set(shards.map((s) => s.shardId)));
    for (const lease of [...(this.cleanupLeasesUponShardCompletion ? completed : []), ...garbage]) {
      try {
        await this.refresher.deleteLease(lease.leaseKey);
        this.logger.info({ leaseKey: lease.leaseKey, reason: completed.includes(lease) ? 'completed' : 'shard no longer exists' }, 'Deleted lease');
      } catch (err) {
        this.logger.warn({ leaseKey: lease.leaseKey, ...errorFields(err) }, 'Could not delete lease; next sync retries');
      }
    }
  }

  /**
   * At a parent's end: creates its children's leases at TRIM_HORIZON (whatever the initial position)
   * and records them on the parent. Children come from GetRecords' ChildShards, else from ListShards.
   */
  async createChildLeases(parent: Lease, childShards: ChildShard[] | undefined): Promise<string[]> {
    const children: ShardInfo[] =
      childShards && childShards.length > 0
        ? childShards.map((c) => ({
            shardId: c.shardId,
            ...(c.parentShards[0] !== undefined ? { parentShardId: c.parentShards[0] } : {}),
            ...(c.parentShards[1] !== undefined ? { adjacentParentShardId: c.parentShards[1] } : {}),
            hashKeyRange: c.hashKeyRange ?? { startingHashKey: '0', endingHashKey: (2n ** 128n - 1n).toString() },
          }))
        : childrenOf(parent.leaseKey, await this.detector.listShards());
    await createLeases(this.refresher, children.map((c) => newLease(c, TRIM_HORIZON)));
    const ids = children.map((c) => c.shardId);
    if (ids.length > 0) await this.refresher.updateLeaseChildShardIds(parent.leaseKey, ids);
    return ids;
  }
}
