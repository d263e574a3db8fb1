import { isShardEnded, type Lease } from '../leases/lease.ts';
import { TRIM_HORIZON } from '../retrieval/extended-sequence-number.ts';

/**
 * Whether a child must ask about parents that have no lease: only one that has not started from
 * TRIM_HORIZON. A parent is cleaned up only once all its children started, so such a child's missing
 * parent never had a lease (a merge child leased before its other parent): it must wait for it while
 * the shard exists. A LATEST or AT_TIMESTAMP child never waits for (or replays) what predates it.
 */
export const waitsForMissingParents = (child: Lease): boolean => child.checkpoint.sequenceNumber === TRIM_HORIZON.sequenceNumber;

/**
 * Java's BlockOnParentShardTask decision, made strict: a child may start only when every parent has
 * ended (lease at SHARD_END) or is done without a lease. `missingDone` names the lease-less parents
 * known to be done (gone from the stream); 'all' treats every missing parent lease as done (a started
 * or LATEST/AT_TIMESTAMP child: cleaned up after ending, or before where the application started).
 * Returns the first blocking parent's id, or undefined when the child may start.
 */
export function blockingParent(parentShardIds: string[], parentLeases: Map<string, Lease | undefined>, missingDone: ReadonlySet<string> | 'all' = 'all'): string | undefined {
  return parentShardIds.find((id) => {
    const parent = parentLeases.get(id);
    if (parent === undefined) return missingDone !== 'all' && !missingDone.has(id);
    return !isShardEnded(parent);
  });
}
