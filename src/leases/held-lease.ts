import type { Lease } from './lease.ts';
import { Mutex } from '../common/mutex.ts';

/**
 * Milliseconds on a clock every thread of this process shares: each thread's `performance.now()`
 * counts from its own start, `timeOrigin` anchors it, and both only move forward with the process.
 */
export const sharedNow = (): number => performance.timeOrigin + performance.now();

/** The memory a renewal time lives in: shared with the renewal thread, so no message is needed to read it. */
export const newRenewalSlot = (): SharedArrayBuffer => new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT);

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
    return Number(Atomics.load(this.renewedAt, 0)) / 1000;
  }

  set lastRenewalMs(ms: number) {
    Atomics.store(this.renewedAt, 0, BigInt(Math.max(0, Math.round(ms * 1000))));
  }
}
