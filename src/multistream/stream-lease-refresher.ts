import type { Lease } from '../leases/lease.ts';
import type { CallOptions, LeaseRefresher } from '../leases/lease-refresher.ts';
import { multiStreamLeaseKey } from './multi-stream-lease-key.ts';

/**
 * One stream's leases of a multi-stream lease table, seen as a single-stream table: lease keys are shard
 * ids inside, `<stream>:<shardId>` outside. Everything built for one stream (the shard syncer, cleanup,
 * the shard consumer's parent checks) runs on this view unchanged. Parent and child ids are shard ids in
 * both (as the Java KCL stores them).
 */
export class StreamLeaseRefresher implements LeaseRefresher {
  constructor(
    private readonly table: LeaseRefresher,
    readonly streamIdentifier: string,
  ) {}

  leaseKeyOf(shardId: string): string {
    return multiStreamLeaseKey(this.streamIdentifier, shardId);
  }

  /** The stored lease seen from inside the stream (its key is the shard id). */
  toShardView(stored: Lease): Lease {
    const { streamIdentifier: _stream, shardId, ...rest } = stored;
    return { ...rest, leaseKey: shardId ?? stored.leaseKey.slice(this.streamIdentifier.length + 1) };
  }

  /** The lease as the table stores it, with the Java multi-stream attributes. */
  toStored(view: Lease): Lease {
    return { ...view, leaseKey: this.leaseKeyOf(view.leaseKey), streamIdentifier: this.streamIdentifier, shardId: view.leaseKey };
  }

  /** Whether a stored lease belongs to this stream. */
  owns(stored: Lease): boolean {
    return (stored.streamIdentifier ?? '') === this.streamIdentifier || stored.leaseKey.startsWith(`${this.streamIdentifier}:`);
  }

  createLeaseTableIfNotExists(options?: CallOptions): Promise<boolean> {
    return this.table.createLeaseTableIfNotExists(options);
  }

  waitUntilLeaseTableExists(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.table.waitUntilLeaseTableExists(timeoutMs, signal);
  }

  async listLeases(options?: CallOptions): Promise<Lease[]> {
    return (await this.table.listLeases(options)).filter((l) => this.owns(l)).map((l) => this.toShardView(l));
  }

  async getLease(shardId: string, options?: CallOptions): Promise<Lease | undefined> {
    const stored = await this.table.getLease(this.leaseKeyOf(shardId), options);
    return stored && this.toShardView(stored);
  }

  createLeaseIfNotExists(lease: Lease, options?: CallOptions): Promise<boolean> {
    return this.table.createLeaseIfNotExists(this.toStored(lease), options);
  }

  renewLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    return this.through(lease, (stored) => this.table.renewLease(stored, options));
  }

  takeLease(lease: Lease, owner: string, options?: CallOptions): Promise<boolean> {
    return this.through(lease, (stored) => this.table.takeLease(stored, owner, options));
  }

  evictLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    return this.through(lease, (stored) => this.table.evictLease(stored, options));
  }

  updateLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    return this.through(lease, (stored) => this.table.updateLease(stored, options));
  }

  updateLeaseChildShardIds(shardId: string, childShardIds: string[], options?: CallOptions): Promise<boolean> {
    return this.table.updateLeaseChildShardIds(this.leaseKeyOf(shardId), childShardIds, options);
  }

  deleteLease(shardId: string, options?: CallOptions): Promise<void> {
    return this.table.deleteLease(this.leaseKeyOf(shardId), options);
  }

  deleteEndedLease(shardId: string, owner: string, options?: CallOptions): Promise<boolean> {
    return this.table.deleteEndedLease(this.leaseKeyOf(shardId), owner, options);
  }

  hasUnownedLeases(options?: CallOptions): Promise<boolean> {
    return this.table.hasUnownedLeases(options);
  }

  /** Runs a mutating call on the stored form and copies what it changed back onto the caller's view. */
  private async through(view: Lease, call: (stored: Lease) => Promise<boolean>): Promise<boolean> {
    const stored = this.toStored(view);
    const ok = await call(stored);
    if (ok) Object.assign(view, this.toShardView(stored));
    return ok;
  }
}
