import { channel } from 'node:diagnostics_channel';
import type { Logger } from '../common/logger.ts';
import { abortReason } from '../common/backoff.ts';

/**
 * Published on every change of a budget's reserved bytes, only while someone listens (free otherwise):
 * `{ budget }`, read `budget.reserved`. For tests and diagnostics.
 */
export const byteBudgetChannel = channel('ts-kcl:retrieval:byte-budget');

/**
 * What a shard reserves before its first page, whose size nobody knows yet: small, so a worker starting
 * on 1,000 shards under the default 64 MiB budget polls them all at once (1,024 x 64 KiB); a bigger first
 * page grows its reservation when it arrives.
 */
export const FIRST_PAGE_ESTIMATE_BYTES = 64 * 1024;

/** Recorded (ProcessTask, per shard) each time a shard had to wait for room: how long it waited. */
export const BUDGET_WAIT_METRIC = 'RetrievalByteBudget.Wait.Time';

/** Bytes held against a ByteBudget. Release exactly once; later calls do nothing. */
export interface ByteReservation {
  /** The bytes held now. */
  readonly bytes: number;
  /**
   * Sets the bytes held, at once: a grow may exceed the budget (the bytes are already in memory), a
   * shrink wakes the waiters that now fit. Ignored once released.
   */
  resize(bytes: number): void;
  /** Gives the bytes back and wakes the waiters that now fit. Idempotent. */
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: (reservation: ByteReservation) => void;
}

/**
 * The bytes of record data one worker may hold in retrieval (pages being fetched and batches waiting for
 * their processor), shared by every shard and stream of the worker. Reservations are granted first come,
 * first served: a request that does not fit waits, and later requests wait behind it even when they
 * would fit, so a shard with big pages is never starved by many small ones.
 *
 * A request is granted when it fits, or when nothing at all is reserved: a page bigger than the whole
 * budget still goes (alone), because progress beats the bound. A zero-byte request (an idle shard, whose
 * last page was empty) never waits: it takes nothing, and an idle shard must not queue behind busy ones.
 */
export class ByteBudget {
  private held = 0;
  private readonly waiters: Waiter[] = [];

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`A byte budget needs a positive capacity, got ${capacity}`);
  }

  /** The bytes reserved now (may exceed `capacity`: see `ByteReservation.resize` and the empty-budget rule). */
  get reserved(): number {
    return this.held;
  }

  /** Requests waiting for room. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** A reservation at once, or undefined when the request would have to wait. */
  tryReserve(bytes: number): ByteReservation | undefined {
    if (!this.grantable(bytes, this.waiters.length === 0)) return undefined;
    return this.grant(bytes);
  }

  /**
   * Reserves now, past the budget if need be: for a shard whose processor has nothing queued, so that a
   * few stuck processors holding the budget stall only their own shards (as in Java), never the worker.
   */
  reserveNow(bytes: number): ByteReservation {
    return this.grant(bytes);
  }

  /**
   * Waits (in turn) until the bytes fit; rejects with the signal's reason when it aborts first.
   * `onWaiting` receives `expedite`, which grants the request at once, past the budget (see reserveNow).
   */
  reserve(bytes: number, signal: AbortSignal, onWaiting?: (expedite: () => void) => void): Promise<ByteReservation> {
    const now = signal.aborted ? undefined : this.tryReserve(bytes);
    if (now) return Promise.resolve(now);
    return new Promise<ByteReservation>((resolve, reject) => {
      if (signal.aborted) return reject(abortReason(signal));
      const waiter: Waiter = {
        bytes,
        grant: (reservation) => {
          signal.removeEventListener('abort', onAbort);
          resolve(reservation);
        },
      };
      onWaiting?.(() => {
        const at = this.waiters.indexOf(waiter);
        if (at < 0) return; // granted or aborted meanwhile
        this.waiters.splice(at, 1);
        waiter.grant(this.grant(bytes));
        this.wake(); // the one behind may be at the head now
      });
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(abortReason(signal));
        this.wake(); // the one behind may fit now that the head left
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private grantable(bytes: number, first: boolean): boolean {
    return bytes <= 0 || (first && (this.held === 0 || this.held + bytes <= this.capacity));
  }

  private grant(bytes: number): ByteReservation {
    let current = Math.max(0, bytes);
    let released = false;
    this.change(current);
    return {
      get bytes() {
        return released ? 0 : current;
      },
      resize: (next) => {
        if (released) return;
        const size = Math.max(0, next);
        this.change(size - current);
        current = size;
        this.wake();
      },
      release: () => {
        if (released) return;
        released = true;
        this.change(-current);
        this.wake();
      },
    };
  }

  private change(delta: number): void {
    if (delta === 0) return;
    this.held += delta;
    if (byteBudgetChannel.hasSubscribers) byteBudgetChannel.publish({ budget: this });
  }

  /** Grants waiters in order while the head fits. */
  private wake(): void {
    for (;;) {
      const head = this.waiters[0];
      if (head === undefined || !this.grantable(head.bytes, true)) return;
      this.waiters.shift();
      head.grant(this.grant(head.bytes));
    }
  }
}

/**
 * One shard's side of the worker's budget, as both publishers use it: the next page's (or event's) bytes,
 * waiting in turn when the budget is spent, except while the processor has nothing queued: then past the
 * budget (one page ahead), so processors that never return, holding the budget, stall only their own
 * shards (as in Java), never the whole worker.
 */
export class ShardBudget {
  /** While this shard waits: grants its request at once. */
  private expedite: (() => void) | undefined;

  constructor(
    private readonly budget: ByteBudget | undefined,
    private readonly logger: Logger,
  ) {}

  /** `waited` is told how long the shard waited, only when it did (the wait metric). */
  async reserve(bytes: number, nothingQueued: boolean, signal: AbortSignal, waited: (ms: number) => void): Promise<ByteReservation | undefined> {
    const budget = this.budget;
    if (budget === undefined) return undefined;
    if (nothingQueued) return budget.reserveNow(bytes);
    const now = budget.tryReserve(bytes);
    if (now) return now;
    this.logger.debug({ bytes, reserved: budget.reserved, capacity: budget.capacity }, 'Waiting for room in the worker-wide retrieval byte budget');
    const started = performance.now();
    try {
      return await budget.reserve(bytes, signal, (expedite) => (this.expedite = expedite));
    } finally {
      this.expedite = undefined;
      waited(performance.now() - started);
    }
  }

  /** The processor took the last queued batch: a wait in progress is granted now. */
  queueEmptied(): void {
    this.expedite?.();
  }
}
