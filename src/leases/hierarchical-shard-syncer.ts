import type { Lease } from './lease.ts';
import type { LeaseRefresher } from './lease-refresher.ts';
import type { ShardInfo } from '../retrieval/shard-detector.ts';
import { AT_TIMESTAMP, LATEST, TRIM_HORIZON, type ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';

export type InitialPositionName = 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';

const parentsOf = (shard: ShardInfo): string[] =>
  [shard.parentShardId, shard.adjacentParentShardId].filter((p): p is string => p !== undefined);

export function newLease(shard: ShardInfo, checkpoint: ExtendedSequenceNumber): Lease {
  return {
    leaseKey: shard.shardId,
    leaseCounter: 0,
    checkpoint,
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: parentsOf(shard),
    childShardIds: [],
    hashKeyRange: shard.hashKeyRange,
  };
}

/**
 * Which leases a shard sync creates (Java's HierarchicalShardSyncer, as a pure function):
 * - a shard descending from a leased shard starts at TRIM_HORIZON, so nothing between a reshard and
 *   the first read is skipped, and its lease lists its parents so it waits for them;
 * - a shard that is an ancestor of a leased shard gets none: it was consumed (and its lease cleaned
 *   up) or lies before where the application started;
 * - any other shard gets the initial position; with LATEST only open shards get leases (the
 *   AT_LATEST shard filter, applied here because kinesalite ignores ShardFilter).
 */
export function determineNewLeases(shards: ShardInfo[], existing: Lease[], initialPosition: InitialPositionName): Lease[] {
  const leased = new Set(existing.map((l) => l.leaseKey));
  const byId = new Map(shards.map((s) => [s.shardId, s]));
  const memo = new Map<string, boolean>();
  const descendsFromLeased = (shardId: string, depth = 0): boolean => {
    const known = memo.get(shardId);
    if (known !== undefined) return known;
    const shard = byId.get(shardId);
    const result =
      shard !== undefined && depth < 1000 && parentsOf(shard).some((p) => leased.has(p) || descendsFromLeased(p, depth + 1));
    memo.set(shardId, result);
    return result;
  };
  const ancestors = new Set<string>();
  const markAncestors = (shardId: string): void => {
    for (const parent of parentsOf(byId.get(shardId) ?? { shardId, hashKeyRange: { startingHashKey: '0', endingHashKey: '0' } })) {
      if (ancestors.has(parent)) continue;
      ancestors.add(parent);
      markAncestors(parent);
    }
  };
  for (const key of leased) markAncestors(key);
  const initial = initialPosition === 'LATEST' ? LATEST : initialPosition === 'AT_TIMESTAMP' ? AT_TIMESTAMP : TRIM_HORIZON;
  const created: Lease[] = [];
  for (const shard of shards) {
    if (leased.has(shard.shardId) || ancestors.has(shard.shardId)) continue;
    if (descendsFromLeased(shard.shardId)) created.push(newLease(shard, TRIM_HORIZON));
    else if (initialPosition !== 'LATEST' || shard.endingSequenceNumber === undefined) created.push(newLease(shard, initial));
  }
  return created;
}

/** The children of an ended shard, from the GetRecords ChildShards or else from the shard list. */
export function childrenOf(shardId: string, shards: ShardInfo[]): ShardInfo[] {
  return shards.filter((s) => parentsOf(s).includes(shardId));
}

/** Creates leases idempotently: several workers may sync at once, the conditional put decides. */
export async function createLeases(refresher: LeaseRefresher, leases: Lease[]): Promise<number> {
  let created = 0;
  for (const lease of leases) if (await refresher.createLeaseIfNotExists(lease)) created++;
  return created;
}
