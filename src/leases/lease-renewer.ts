import { randomUUID } from 'node:crypto';
import type { Lease } from './lease.ts';
import type { LeaseRefresher } from './lease-refresher.ts';
import { Mutex } from '../common/mutex.ts';
import { monotonicNow } from '../common/backoff.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** A lease this worker holds, with the token of this acquisition and when it was last renewed. */
export interface HeldLease {
  lease: Lease;
  /** New on every acquisition: a processor from an earlier acquisition cannot write with it. */
  readonly concurrencyToken: string;
  /** Monotonic time of the start of the last successful renewal (conservative). */
  lastRenewalMs: number;
  readonly mutex: Mutex;
}

export type LeaseLostListener = (leaseKey: string, reason: string) => void;

/**
 * Keeps held leases alive (Java's DynamoDBLeaseRenewer): renews each with a conditional write on its
 * counter, never renews one it considers expired, and gives up a lease the moment a write shows that
 * another worker changed it.
 */
export class LeaseRenewer {
  private readonly held = new Map<string, HeldLease>();

  constructor(
    private readonly refresher: LeaseRefresher,
    readonly workerId: string,
    private readonly failoverTimeMs: number,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly onLeaseLost: LeaseLostListener,
  ) {}

  /** On start-up, renews every lease owned by this worker id, expired or not: a restart resumes at once. */
  async initialize(leases: Lease[], stopping?: AbortSignal): Promise<Lease[]> {
    const mine = leases.filter((l) => l.leaseOwner === this.workerId);
    const resumed: Lease[] = [];
    await Promise.all(
      mine.map(async (lease) => {
        const start = monotonicNow();
        try {
          if (await this.refresher.renewLease(lease, stopping ? { abortSignal: stopping } : {})) {
            this.add(lease, start);
            resumed.push(lease);
          }
        } catch (err) {
          this.logger.warn({ leaseKey: lease.leaseKey, ...errorFields(err) }, 'Could not resume an own lease at start-up');
        }
      }),
    );
    return resumed;
  }

  /** Starts holding a lease just taken (with a fresh concurrency token). */
  add(lease: Lease, renewedAtMs = monotonicNow()): HeldLease {
    const held: HeldLease = { lease, concurrencyToken: randomUUID(), lastRenewalMs: renewedAtMs, mutex: new Mutex() };
    this.held.set(lease.leaseKey, held);
    return held;
  }

  isExpired(held: HeldLease, now = monotonicNow()): boolean {
    return now - held.lastRenewalMs > this.failoverTimeMs;
  }

  /** The held lease, unless it expired locally or was dropped (then checkpoints must fail). */
  getCurrentlyHeldLease(leaseKey: string): HeldLease | undefined {
    const held = this.held.get(leaseKey);
    return held && !this.isExpired(held) ? held : undefined;
  }

  heldLeases(): HeldLease[] {
    return [...this.held.values()];
  }

  heldCount(): number {
    return this.held.size;
  }

  /** Stops holding a lease without any DynamoDB write. */
  drop(leaseKey: string): HeldLease | undefined {
    const held = this.held.get(leaseKey);
    this.held.delete(leaseKey);
    return held;
  }

  /** One renewal round over every held lease, in parallel. */
  async renewLeases(): Promise<void> {
    const scope = this.metrics.scope('RenewAllLeases', { WorkerIdentifier: this.workerId });
    const start = monotonicNow();
    const before = this.held.size;
    const results = await Promise.all(this.heldLeases().map((h) => this.renew(h, scope)));
    const lost = results.filter((ok) => !ok).length;
    scope
      .add('CurrentLeases', this.held.size, 'Count', 'SUMMARY')
      .add('LostLeases', lost, 'Count', 'SUMMARY')
      .addSuccessAndLatency(undefined, lost === 0 || before === 0, start, 'SUMMARY')
      .end();
  }

  private renew(held: HeldLease, scope: ReturnType<Metrics['scope']>): Promise<boolean> {
    return held.mutex.run(async () => {
      if (this.held.get(held.lease.leaseKey) !== held) return true; // dropped meanwhile
      const start = monotonicNow();
      if (this.isExpired(held, start)) return this.lose(held, 'expired locally before it could be renewed');
      // The call may not outlive the lease: abort when it would expire.
      const remaining = held.lastRenewalMs + this.failoverTimeMs - start;
      const abortSignal = AbortSignal.timeout(Math.max(1, Math.floor(remaining)));
      try {
        const ok = await this.refresher.renewLease(held.lease, { abortSignal });
        scope.addSuccessAndLatency('RenewLease', ok, start, 'DETAILED');
        if (!ok) return this.lose(held, 'another worker changed it (renewal condition failed)');
        held.lastRenewalMs = start;
        return true;
      } catch (err) {
        // A failed call is not a loss: the next round retries until the lease expires locally.
        scope.addSuccessAndLatency('RenewLease', false, start, 'DETAILED');
        this.logger.warn({ leaseKey: held.lease.leaseKey, ...errorFields(err) }, 'Lease renewal failed; will retry');
        return true;
      }
    });
  }

  private lose(held: HeldLease, reason: string): false {
    if (this.held.get(held.lease.leaseKey) === held) {
      this.held.delete(held.lease.leaseKey);
      this.logger.info({ leaseKey: held.lease.leaseKey, reason }, 'Lease lost');
      this.onLeaseLost(held.lease.leaseKey, reason);
    }
    return false;
  }

  /**
   * Writes a change to a held lease (checkpoint, prepared checkpoint) conditional on its counter,
   * serialized with renewals. Returns false, and gives the lease up, when the lease is not held by
   * this acquisition any more.
   */
  async updateLease(leaseKey: string, concurrencyToken: string, change: (lease: Lease) => void): Promise<boolean> {
    const held = this.held.get(leaseKey);
    if (!held || held.concurrencyToken !== concurrencyToken) return false;
    return held.mutex.run(async () => {
      const start = monotonicNow();
      if (this.held.get(leaseKey) !== held || this.isExpired(held, start)) return false;
      const copy: Lease = structuredClone(held.lease);
      change(copy);
      const remaining = held.lastRenewalMs + this.failoverTimeMs - start;
      const ok = await this.refresher.updateLease(copy, { abortSignal: AbortSignal.timeout(Math.max(1, Math.floor(remaining))) });
      if (!ok) return this.lose(held, 'another worker changed it (checkpoint condition failed)');
      held.lease = copy;
      held.lastRenewalMs = start; // the counter moved: other workers saw a heartbeat
      return true;
    });
  }
}
