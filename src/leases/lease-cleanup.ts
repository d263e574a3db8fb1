import { isShardEnded, type Lease } from './lease.ts';

const NOT_STARTED = new Set(['TRIM_HORIZON', 'AT_TIMESTAMP', 'LATEST']);

/** Whether a lease's checkpoint has moved past its initial sentinel (SHARD_END counts as started). */
export const hasStarted = (lease: Lease): boolean => !NOT_STARTED.has(lease.checkpoint.sequenceNumber);

/**
 * Leases whose shard must be asked about (GetShardIterator) before they can be called garbage: those a
 * listing did not show. A listing proves a shard exists; its silence proves nothing, since a listing taken
 * before a concurrent split lacks the new children.
 */
export function garbageCandidates(leases: Lease[], listedShardIds: ReadonlySet<string>): Lease[] {
  return leases.filter((l) => !listedShardIds.has(l.leaseKey));
}

/**
 * Leases that can be deleted (Java's LeaseCleanupManager), never from a listing:
 * - completed: an ended lease once every child lease exists and has started (its checkpoint moved past
 *   the initial sentinel) and its own parents' leases are gone;
 * - garbage: leases of shards whose own GetShardIterator answered ResourceNotFound (`goneShardIds`,
 *   trimmed past retention or the stream recreated). A check that failed puts nothing in that set.
 */
export function leasesToDelete(leases: Lease[], goneShardIds: ReadonlySet<string>): { completed: Lease[]; garbage: Lease[] } {
  const byKey = new Map(leases.map((l) => [l.leaseKey, l]));
  const completed = leases.filter(
    (l) =>
      isShardEnded(l) &&
      l.childShardIds.length > 0 &&
      l.childShardIds.every((c) => {
        const child = byKey.get(c);
        return child !== undefined && hasStarted(child);
      }) &&
      l.parentShardIds.every((p) => !byKey.has(p)),
  );
  const garbage = leases.filter((l) => goneShardIds.has(l.leaseKey) && !completed.includes(l));
  return { completed, garbage };
}
