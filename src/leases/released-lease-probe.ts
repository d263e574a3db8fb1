import type { Lease } from './lease.ts';

/** A lease item's size, about (attribute names and values of a Java 2.x lease), for the cost comparison. */
const LEASE_ITEM_BYTES = 256;
/** DynamoDB bills a Scan per 4 KB read, a GetItem per item (up to 4 KB): the same 0.5 RCU unit (eventually consistent). */
const READ_UNIT_BYTES = 4096;

/**
 * How to notice, between taker rounds, that a peer released its leases (graceful shutdown):
 * - 'none': no peer holds a lease in the last scan, so none can be released (new leases from a shard
 *   sync wake the taker of the worker that made them; others see them at their taker round, as in Java);
 * - 'owners': read one lease per peer (its first in the last scan) and wake the taker when any of them
 *   has changed owner; a peer releases all its leases on shutdown, so one is enough to notice;
 * - 'scan': a count-only Scan of unowned leases, when the table is so small that scanning it all
 *   costs no more than one read per peer.
 */
export type ProbePlan = { kind: 'none' } | { kind: 'scan' } | { kind: 'owners'; expected: Map<string, string> };

export function planReleasedLeaseProbe(lastScan: readonly Lease[], workerId: string): ProbePlan {
  const expected = new Map<string, string>();
  const peers = new Set<string>();
  for (const lease of lastScan) {
    const owner = lease.leaseOwner;
    if (owner === undefined || owner === workerId || peers.has(owner)) continue;
    peers.add(owner);
    expected.set(lease.leaseKey, owner);
  }
  if (peers.size === 0) return { kind: 'none' };
  const scanUnits = Math.max(1, Math.ceil((lastScan.length * LEASE_ITEM_BYTES) / READ_UNIT_BYTES));
  return peers.size < scanUnits ? { kind: 'owners', expected } : { kind: 'scan' };
}

/** Whether any watched lease no longer has the owner it had in the last scan. */
export function anyOwnerChanged(expected: ReadonlyMap<string, string>, now: ReadonlyMap<string, string | undefined>): boolean {
  for (const [key, owner] of expected) if (now.get(key) !== owner) return true;
  return false;
}
