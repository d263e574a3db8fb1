import type { Lease } from './lease.ts';
import type { LeaseOwnership } from './lease-refresher.ts';

/** A lease item's size, about (attribute names and values of a Java 2.x lease), for the cost comparison. */
const LEASE_ITEM_BYTES = 256;
/** DynamoDB bills a Scan per 4 KB read, a GetItem per item (up to 4 KB): the same 0.5 RCU unit (eventually consistent). */
const READ_UNIT_BYTES = 4096;

/**
 * How to notice, between taker rounds, that a peer released its leases (graceful shutdown):
 * - 'none': no peer holds a lease in the last scan, so none can be released (new leases from a shard
 *   sync wake the taker of the worker that made them; others see them at their taker round, as in Java);
 * - 'owners': read one lease per peer (its first in the last scan): a changed owner means the peer
 *   released (it releases all its leases on shutdown, so one is enough), a counter that stands still
 *   for the failover time means the peer died;
 * - 'scan': a count-only Scan of unowned leases, when the table is so small that scanning it all
 *   costs no more than one read per peer.
 */
export type ProbePlan = { kind: 'none' } | { kind: 'scan' } | { kind: 'owners'; expected: Map<string, Lease> };

export function planReleasedLeaseProbe(lastScan: readonly Lease[], workerId: string): ProbePlan {
  const expected = new Map<string, Lease>();
  const peers = new Set<string>();
  for (const lease of lastScan) {
    const owner = lease.leaseOwner;
    if (owner === undefined || owner === workerId || peers.has(owner)) continue;
    peers.add(owner);
    expected.set(lease.leaseKey, lease);
  }
  if (peers.size === 0) return { kind: 'none' };
  const scanUnits = Math.max(1, Math.ceil((lastScan.length * LEASE_ITEM_BYTES) / READ_UNIT_BYTES));
  return peers.size < scanUnits ? { kind: 'owners', expected } : { kind: 'scan' };
}

/**
 * Watches the leases an 'owners' probe reads. `changed` is true when any of them has another owner
 * (or is gone) than in the last scan, or its counter has not moved for `failoverTimeMs` of this
 * worker's monotonic clock (its owner stopped renewing): either way a taker round should run now.
 */
export class PeerWatch {
  private readonly stamps = new Map<string, { counter: number; sinceMs: number }>();

  constructor(private readonly failoverTimeMs: number) {}

  changed(expected: ReadonlyMap<string, Lease>, now: ReadonlyMap<string, LeaseOwnership>, nowMs: number): boolean {
    let changed = false;
    for (const [key, lease] of expected) {
      const seen = now.get(key);
      if (seen === undefined || seen.owner !== lease.leaseOwner) changed = true;
      const stamp = this.stamps.get(key);
      if (seen === undefined) continue;
      if (!stamp || stamp.counter !== seen.counter) this.stamps.set(key, { counter: seen.counter, sinceMs: nowMs });
      else if (nowMs - stamp.sinceMs > this.failoverTimeMs) changed = true;
    }
    for (const key of this.stamps.keys()) if (!expected.has(key)) this.stamps.delete(key);
    return changed;
  }
}

/** Taker rounds in a row that may be skipped while the table is quiet (then one full Scan anyway). */
export const MAX_QUIET_ROUNDS_SKIPPED = 2;
