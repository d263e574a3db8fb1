import type { Lease } from '../../src/leases/lease.ts';

/** A lease as a fresh table holds it (TRIM_HORIZON, counter 1), owned by `leaseOwner` when given. */
export function testLease(leaseKey: string, leaseOwner?: string, checkpoint = 'TRIM_HORIZON'): Lease {
  return {
    leaseKey,
    ...(leaseOwner === undefined ? {} : { leaseOwner }),
    leaseCounter: 1,
    checkpoint: { sequenceNumber: checkpoint, subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
  };
}
