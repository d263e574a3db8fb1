import type { Lease } from './lease.ts';
import type { LeaseRefresher } from './lease-refresher.ts';
import { hasStarted } from './lease-cleanup.ts';
import type { ShardInfo } from '../retrieval/shard-detector.ts';
import { AT_TIMESTAMP, LATEST, TRIM_HORIZON, type ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';

export type InitialPositionName = 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';

const parentsOf = (shard: ShardInfo): string[] =>
  [shard.parentShardId, shard.adjacentParentShardId].filter((p): p is string => p !== undefined);

const sentinel = (position: InitialPositionName): ExtendedSequenceNumber =>
  position === 'LATEST' ? LATEST : position === 'AT_TIMESTAMP' ? AT_TIMESTAMP : TRIM_HORIZON;

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
 * The shard graph as a sync sees it: a listing plus the parents its leases record, so lineage holds
 * for leases whose shard the listing does not show (created after it, or trimmed past retention).
 */
class ShardGraph {
  readonly byId: Map<string, ShardInfo>;
  private readonly leaseParents: Map<string, string[]>;
  readonly leased: Set<string>;
  private readonly descends = new Map<string, boolean>();

  constructor(shards: ShardInfo[], leases: Lease[]) {
    this.byId = new Map(shards.map((s) => [s.shardId, s]));
    this.leaseParents = new Map(leases.map((l) => [l.leaseKey, l.parentShardIds]));
    this.leased = new Set(leases.map((l) => l.leaseKey));
  }

  parents(shardId: string): string[] {
    const shard = this.byId.get(shardId);
    return shard ? parentsOf(shard) : (this.leaseParents.get(shardId) ?? []);
  }

  /** Whether some ancestor of the shard (not the shard itself) has a lease. */
  descendsFromLeased(shardId: string, depth = 0): boolean {
    const known = this.descends.get(shardId);
    if (known !== undefined) return known;
    const result = depth < 1000 && this.parents(shardId).some((p) => this.leased.has(p) || this.descendsFromLeased(p, depth + 1));
    this.descends.set(shardId, result);
    return result;
  }

  /** Every ancestor of the given shards. */
  ancestorsOf(shardIds: Iterable<string>): Set<string> {
    const ancestors = new Set<string>();
    const stack = [...shardIds];
    while (stack.length > 0) {
      for (const parent of this.parents(stack.pop()!)) {
        if (ancestors.has(parent)) continue;
        ancestors.add(parent);
        stack.push(parent);
      }
    }
    return ancestors;
  }
}

/**
 * Which leases a shard sync creates (Java's HierarchicalShardSyncer, as a pure function):
 * - a shard descending from a leased shard starts at TRIM_HORIZON, so nothing between a reshard and
 *   the first read is skipped, and its lease lists its parents so it waits for them;
 * - a shard that is an ancestor of a started lease gets none: it was consumed (and its lease cleaned
 *   up) or lies before where the application started. Only a started child lets a parent be cleaned
 *   up, so an ancestor of unstarted leases only has never had a lease;
 * - any other shard gets the initial position; with LATEST only open shards get leases (the
 *   AT_LATEST shard filter, applied here because kinesalite ignores ShardFilter);
 * - then every parent of a TRIM_HORIZON lease (new or not yet started) gets a lease too, as Java does
 *   for a new descendant's parents: both merge parents are leased, or the child waits for the sync.
 * Lineage comes from the listing and from the leases, so a listing older than the lease Scan (a split
 * landing between the two) neither hides the ancestry of the new children nor recreates a parent.
 */
export function determineNewLeases(shards: ShardInfo[], existing: Lease[], initialPosition: InitialPositionName): Lease[] {
  const graph = new ShardGraph(shards, existing);
  const consumed = graph.ancestorsOf(existing.filter(hasStarted).map((l) => l.leaseKey));
  const initial = sentinel(initialPosition);
  const created = new Map<string, Lease>();
  for (const shard of shards) {
    if (graph.leased.has(shard.shardId) || consumed.has(shard.shardId)) continue;
    if (graph.descendsFromLeased(shard.shardId)) created.set(shard.shardId, newLease(shard, TRIM_HORIZON));
    else if (initialPosition !== 'LATEST' || shard.endingSequenceNumber === undefined) created.set(shard.shardId, newLease(shard, initial));
  }
  addParentLeases(graph, consumed, [...created.values(), ...existing], initialPosition, created);
  return [...created.values()];
}

/**
 * Leases for the unleased parents of the given leases (Java's checkIfDescendantAndAddNewLeasesForAncestors):
 * TRIM_HORIZON when the parent itself descends from a leased shard, else the initial position; up the
 * graph while the new lease is at TRIM_HORIZON (such a lease waits for every parent that still exists).
 * Parents not in the listing are gone from the stream (or unknown): nothing to wait for, nothing created.
 */
function addParentLeases(graph: ShardGraph, consumed: Set<string>, leases: Lease[], initialPosition: InitialPositionName, created: Map<string, Lease>): void {
  const stack = leases.filter((l) => l.checkpoint.sequenceNumber === TRIM_HORIZON.sequenceNumber);
  while (stack.length > 0) {
    for (const parentId of stack.pop()!.parentShardIds) {
      const parent = graph.byId.get(parentId);
      if (!parent || graph.leased.has(parentId) || created.has(parentId) || consumed.has(parentId)) continue;
      const lease = newLease(parent, graph.descendsFromLeased(parentId) ? TRIM_HORIZON : sentinel(initialPosition));
      created.set(parentId, lease);
      if (lease.checkpoint.sequenceNumber === TRIM_HORIZON.sequenceNumber) stack.push(lease);
    }
  }
}

/**
 * The leases to create for new descendant leases (children at a parent's end) and their unleased
 * parents, parents first: at a merge, the other parent may have no lease yet (a split child of a shard
 * that has not reached its end), and the merge child must not start before it.
 */
export function withParentLeases(children: Lease[], shards: ShardInfo[], existing: Lease[], initialPosition: InitialPositionName): Lease[] {
  const graph = new ShardGraph(shards, existing);
  const consumed = graph.ancestorsOf(existing.filter(hasStarted).map((l) => l.leaseKey));
  const parents = new Map<string, Lease>();
  const fresh = children.filter((c) => !graph.leased.has(c.leaseKey));
  addParentLeases(graph, consumed, fresh, initialPosition, parents);
  for (const c of fresh) parents.delete(c.leaseKey);
  return [...[...parents.values()].reverse(), ...fresh];
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
