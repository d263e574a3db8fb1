import type { Lease } from './lease.ts';
import type { LeaseOwnership } from './lease-refresher.ts';

/** A lease item's size, about (attribute names and values of a Java 2.x lease), for the cost comparison. */
const LEASE_ITEM_BYTES = 256;
/** DynamoDB bills a Scan per 4 KB read, a GetItem per item (up to 4 KB): the same 0.5 RCU unit (eventually consistent). */
const READ_UNIT_BYTES = 4096;

/**
 * How to notice, between taker rounds, that a peer released its leases (graceful shutdown) or died:
 * - 'none': no peer holds a lease in the last scan, so none can be released (new leases from a shard
 *   sync wake the taker of the worker that made them; others see them at their taker round, as in Java);
 * - 'owners': read one lease per peer (its lowest key in the last scan): a changed owner means the peer
 *   released (it releases all its leases on shutdown, so one is enough), a counter that stands still
 *   for the failover time means the peer died. With two peers or more, each probe reads only `signal`
 *   (the table's lowest lease key), whose release signal a worker bumps after releasing leases, and the
 *   per-peer reads run every few probes (enough to see a counter stand still): one read per probe
 *   instead of one per peer, so a fleet of 10 reads a tenth of the items for the same handover time;
 * - 'scan': a count-only Scan of unowned leases, when the table is so small that scanning it all
 *   costs no more than one read per peer.
 */
export type ProbePlan = { kind: 'none' } | { kind: 'scan' } | { kind: 'owners'; expected: Map<string, Lease>; signal?: string };

export function planReleasedLeaseProbe(lastScan: readonly Lease[], workerId: string): ProbePlan {
  const lowest = new Map<string, Lease>(); // peer -> its lowest-keyed lease
  let signal: string | undefined;
  for (const lease of lastScan) {
    if (signal === undefined || lease.leaseKey < signal) signal = lease.leaseKey;
    const owner = lease.leaseOwner;
    if (owner === undefined || owner === workerId) continue;
    const current = lowest.get(owner);
    if (current === undefined || lease.leaseKey < current.leaseKey) lowest.set(owner, lease);
  }
  if (lowest.size === 0) return { kind: 'none' };
  const scanUnits = Math.max(1, Math.ceil((lastScan.length * LEASE_ITEM_BYTES) / READ_UNIT_BYTES));
  if (lowest.size >= scanUnits) return { kind: 'scan' };
  const expected = new Map([...lowest.values()].map((l) => [l.leaseKey, l]));
  // One peer: its own lease is the one read, a signal would only add a second.
  return lowest.size >= 2 && signal !== undefined ? { kind: 'owners', expected, signal } : { kind: 'owners', expected };
}

/**
 * Probes between two per-peer reads when the plan has a signal: a standing counter is still seen
 * within about one failover time after the peer's last renewal (Java's taker sees it a taker round later).
 */
export function probesPerPeerRead(failoverTimeMs: number, probeIntervalMs: number): number {
  return Math.max(1, Math.floor(failoverTimeMs / Math.max(1, probeIntervalMs)));
}

/**
 * Watches the leases an 'owners' probe reads. `changed` is true when any of them has another owner
 * (or is gone) than in the last scan, or its counter has not moved for `failoverTimeMs` of this
 * worker's monotonic clock (its owner stopped renewing): either way a taker round should run now.
 * `signalled` is true when the signal lease's release signal moved since the last probe (or it is gone).
 */
export class PeerWatch {
  private readonly stamps = new Map<string, { counter: number; sinceMs: number }>();
  private lastSignal: { key: string; value: number } | undefined;

  constructor(private readonly failoverTimeMs: number) {}

  /** `now` may hold only some of `expected` (a probe that read the signal alone): the others are kept as they were. */
  changed(expected: ReadonlyMap<string, Lease>, now: ReadonlyMap<string, LeaseOwnership>, nowMs: number, readAll = true): boolean {
    let changed = false;
    for (const [key, lease] of expected) {
      if (!readAll && !now.has(key)) continue;
      const seen = now.get(key);
      if (seen === undefined || seen.owner !== lease.leaseOwner) changed = true;
      const stamp = this.stamps.get(key);
      if (seen === undefined) continue;
      if (!stamp || stamp.counter !== seen.counter) this.stamps.set(key, { counter: seen.counter, sinceMs: nowMs });
      else if (nowMs - stamp.sinceMs > this.failoverTimeMs) changed = true;
    }
    if (readAll) for (const key of this.stamps.keys()) if (!expected.has(key)) this.stamps.delete(key);
    return changed;
  }

  /** The first read of a signal lease (or of a new one) only sets the baseline. */
  signalled(key: string, seen: LeaseOwnership | undefined): boolean {
    const last = this.lastSignal;
    if (seen === undefined) {
      this.lastSignal = undefined;
      return true; // gone (an ended shard's lease deleted): the next scan picks another
    }
    this.lastSignal = { key, value: seen.releaseSignal };
    return last !== undefined && last.key === key && last.value !== seen.releaseSignal;
  }
}

/** Taker rounds in a row that may be skipped while the table is quiet (then one full Scan anyway). */
export const MAX_QUIET_ROUNDS_SKIPPED = 2;
