import { isShardEnded, type Lease } from './lease.ts';

const NOT_STARTED = new Set(['TRIM_HORIZON', 'AT_TIMESTAMP', 'LATEST']);

/**
 * Leases that can be deleted (Java's LeaseCleanupManager): an ended lease once every child lease exists
 * and has started (its checkpoint moved past the initial sentinel) and its own parents are gone; and
 * leases of shards that no longer exist in the stream.
 */
export function leasesToDelete(leases: Lease[], existingShardIds: Set<string> | undefined): { completed: Lease[]; garbage: Lease[] } {
  const byKey = new Map(leases.map((l) => [l.leaseKey, l]));
  const completed = leases.filter(
    (l) =>
      isShardEnded(l) &&
      l.childShardIds.length > 0 &&
      l.childShardIds.every((c) => {
        const child = byKey.get(c);
        return child !== undefined && !NOT_STARTED.has(child.checkpoint.sequenceNumber);
      }) &&
      l.parentShardIds.every((p) => !byKey.has(p)),
  );
  const garbage = existingShardIds === undefined ? [] : leases.filter((l) => !existingShardIds.has(l.leaseKey) && !completed.includes(l));
  return { completed, garbage };
}
