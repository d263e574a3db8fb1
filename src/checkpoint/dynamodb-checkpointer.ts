import type { Checkpointer } from './checkpointer.ts';
import type { LeaseRenewer } from '../leases/lease-renewer.ts';
import type { ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';
import { ShutdownException } from '../errors.ts';

const NOT_HELD = "Can't update checkpoint - instance doesn't hold the lease for this shard";

/**
 * Persists checkpoints in the lease item through the renewer, which holds the lease, checks it has
 * not expired locally and that the caller's concurrency token is this acquisition's (Java's DynamoDBCheckpointer).
 */
export class DynamoDBCheckpointer implements Checkpointer {
  constructor(private readonly renewer: LeaseRenewer) {}

  async setCheckpoint(leaseKey: string, checkpoint: ExtendedSequenceNumber, concurrencyToken: string): Promise<void> {
    const ok = await this.renewer.updateLease(leaseKey, concurrencyToken, (lease) => {
      lease.checkpoint = checkpoint;
      lease.ownerSwitchesSinceCheckpoint = 0;
      delete lease.pendingCheckpoint;
      delete lease.pendingCheckpointState;
    });
    if (!ok) throw new ShutdownException(`${NOT_HELD} (${leaseKey})`);
  }

  async prepareCheckpoint(leaseKey: string, pending: ExtendedSequenceNumber, concurrencyToken: string): Promise<void> {
    const ok = await this.renewer.updateLease(leaseKey, concurrencyToken, (lease) => {
      lease.pendingCheckpoint = pending;
    });
    if (!ok) throw new ShutdownException(`${NOT_HELD} (${leaseKey})`);
  }
}
