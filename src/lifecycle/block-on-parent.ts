import { isShardEnded, type Lease } from '../leases/lease.ts';

/**
 * Java's BlockOnParentShardTask decision: a child may start only when every parent lease that still
 * exists has checkpoint SHARD_END (both parents of a merge). A missing parent lease does not block:
 * it was cleaned up after ending, or lies before where the application started.
 * Returns the first blocking parent's id, or undefined when the child may start.
 */
export function blockingParent(parentShardIds: string[], parentLeases: Map<string, Lease | undefined>): string | undefined {
  return parentShardIds.find((id) => {
    const parent = parentLeases.get(id);
    return parent !== undefined && !isShardEnded(parent);
  });
}
