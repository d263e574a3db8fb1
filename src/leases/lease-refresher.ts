import type { Lease } from './lease.ts';

/** Per-call options: every lease write can be cancelled, so none outlives the lease it serves. */
export interface CallOptions {
  abortSignal?: AbortSignal;
}

/**
 * The lease table's operations (Java's LeaseRefresher). Every mutation is a conditional write;
 * `false` means the condition failed (someone else changed the lease), errors mean the call failed.
 */
export interface LeaseRefresher {
  createLeaseTableIfNotExists(options?: CallOptions): Promise<boolean>;
  waitUntilLeaseTableExists(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  listLeases(options?: CallOptions): Promise<Lease[]>;
  getLease(leaseKey: string, options?: CallOptions): Promise<Lease | undefined>;
  /** Put if no lease with this key exists. */
  createLeaseIfNotExists(lease: Lease, options?: CallOptions): Promise<boolean>;
  /** counter := counter + 1 when the counter is still the one held. Mutates `lease` on success. */
  renewLease(lease: Lease, options?: CallOptions): Promise<boolean>;
  /** Owner := owner, counter + 1, when the counter is the one observed. Mutates `lease` on success. */
  takeLease(lease: Lease, owner: string, options?: CallOptions): Promise<boolean>;
  /** Owner removed, counter + 1, when the owner is still the one held. Mutates `lease` on success. */
  evictLease(lease: Lease, options?: CallOptions): Promise<boolean>;
  /** Writes checkpoint fields, counter + 1, when the counter is the one held. Mutates the counter on success. */
  updateLease(lease: Lease, options?: CallOptions): Promise<boolean>;
  /** Writes child shard ids without touching the counter, when the lease exists. */
  updateLeaseChildShardIds(leaseKey: string, childShardIds: string[], options?: CallOptions): Promise<boolean>;
  deleteLease(leaseKey: string, options?: CallOptions): Promise<void>;
  /** Deletes an ended lease only while `owner` holds it and its checkpoint is SHARD_END; true once it is gone. */
  deleteEndedLease(leaseKey: string, owner: string, options?: CallOptions): Promise<boolean>;
  /** Whether any lease has no owner: a cheap probe (count only) so released leases are noticed quickly. */
  hasUnownedLeases(options?: CallOptions): Promise<boolean>;
  /** The owner and counter of each of these leases (missing: gone), read per lease, not by a Scan. */
  leaseOwners?(leaseKeys: readonly string[], options?: CallOptions): Promise<Map<string, LeaseOwnership>>;
  /**
   * Bumps the release signal on this lease (no condition on owner or counter, so its holder's renewals
   * and checkpoints are untouched): peers whose probe reads it learn that leases were released.
   * False when the lease is gone.
   */
  signalReleases?(leaseKey: string, options?: CallOptions): Promise<boolean>;
}

/** What the released-lease probe reads of a lease. */
export interface LeaseOwnership {
  owner?: string;
  counter: number;
  /** The lease's release signal (0 when never bumped). */
  releaseSignal: number;
}
