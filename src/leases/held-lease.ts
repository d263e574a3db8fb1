import type { Lease } from './lease.ts';
import { Mutex } from '../common/mutex.ts';

/**
 * Milliseconds on a clock every thread of this process shares: each thread's `performance.now()`
 * counts from its own start, `timeOrigin` anchors it, and both only move forward with the process.
 */
export const sharedNow = (): number => performance.timeOrigin + performance.now();

/**
 * The memory a renewal time lives in, with the bytes read from the shard since the last renewal (and
 * how many batches): shared with the renewal thread, so no message is needed to read or write them.
 */
export const newRenewalSlot = (): SharedArrayBuffer => new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT);

const RENEWED_AT = 0;
const BYTES = 1;
const BATCHES = 2;

/** A lease this worker holds, with the token of this acquisition and when it was last renewed. */
export class HeldLease {
  /** Microseconds on `sharedNow`'s clock; 0 = given up (expired for every reader at once). */
  private readonly renewedAt: BigInt64Array;
  /** Serializes renewals and other writes to this lease in the thread that writes them. */
  readonly mutex = new Mutex();

  constructor(
    public lease: Lease,
    /** New on every acquisition: a processor from an earlier acquisition cannot write with it. */
    readonly concurrencyToken: string,
    /** Shared with the thread that renews the lease, which writes it; any thread may read it. */
    readonly slot: SharedArrayBuffer = newRenewalSlot(),
  ) {
    this.renewedAt = new BigInt64Array(slot);
  }

  /** `sharedNow()` time of the start of the last successful renewal (conservative). */
  get lastRenewalMs(): number {
    return Number(Atomics.load(this.renewedAt, RENEWED_AT)) / 1000;
  }

  set lastRenewalMs(ms: number) {
    Atomics.store(this.renewedAt, RENEWED_AT, BigInt(Math.max(0, Math.round(ms * 1000))));
  }

  /** A batch read from the shard (Java LeaseStatsRecorder.recordStats): the renewer turns it into throughputKBps. */
  recordBytes(bytes: number): void {
    Atomics.add(this.renewedAt, BYTES, BigInt(bytes));
    Atomics.add(this.renewedAt, BATCHES, 1n);
  }

  /** The bytes recorded since the last call, or undefined when no batch ever was (Java: no throughput yet). */
  takeBytes(): number | undefined {
    const bytes = Number(Atomics.exchange(this.renewedAt, BYTES, 0n));
    return Atomics.load(this.renewedAt, BATCHES) === 0n ? undefined : bytes;
  }
}
