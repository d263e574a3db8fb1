import { randomUUID } from 'node:crypto';
import { isHandoffFrom, type Lease } from './lease.ts';
import type { LeaseRefresher } from './lease-refresher.ts';
import { HeldLease, sharedNow } from './held-lease.ts';
import { wakeable } from '../common/backoff.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

export { HeldLease } from './held-lease.ts';

export type LeaseLostListener = (leaseKey: string, reason: string) => void;
/** A KCL 3.x leader handed a held lease to another worker: this one checkpoints, then hands it over. */
export type HandoffListener = (leaseKey: string, newOwner: string) => void;

/** Java LeaseStatsRecorder's smoothing of each lease's throughput. */
const THROUGHPUT_EMA_ALPHA = 0.5;

/**
 * Keeps held leases alive (Java's DynamoDBLeaseRenewer): renews each with a conditional write on its
 * counter, never renews one it considers expired, and gives up a lease the moment a write shows that
 * another worker changed it, or the moment it expires locally (a timer at its expiry).
 *
 * This renewer does its writes on the thread that calls it: the fallback when the renewal thread
 * cannot be used, and the engine the renewal thread itself runs (see ThreadLeaseRenewer).
 */
export class LeaseRenewer {
  protected readonly held = new Map<string, HeldLease>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  /** False: the caller runs `renewLeases()` on its schedule. A renewer with its own schedule says true. */
  readonly ownsSchedule: boolean = false;
  /** Told after every renewal that finds a handoff pending (the listener dedups). */
  onHandoffRequested: HandoffListener | undefined;
  private readonly throughput = new Map<string, number>();
  private renewerIntervalMs = 0;

  constructor(
    private readonly refresher: LeaseRefresher,
    readonly workerId: string,
    protected readonly failoverTimeMs: number,
    protected readonly logger: Logger,
    protected readonly metrics: Metrics,
    private readonly onLeaseLost: LeaseLostListener,
  ) {}

  /** Prepares to hold leases (the renewal thread starts here); nothing to do on this thread. */
  start(): void {}

  /**
   * Writes each lease's throughput with its renewals (Java LeaseStatsRecorder: bytes per renewal
   * interval, smoothed), or stops; 0 = not written. Only the 3.x leader reads it, so 2.x-mode items keep
   * the 2.x attributes.
   */
  recordThroughputOver(renewerIntervalMs: number): void {
    this.renewerIntervalMs = renewerIntervalMs;
    if (renewerIntervalMs > 0) return;
    this.throughput.clear();
    for (const held of this.held.values()) delete held.lease.throughputKBps;
  }

  /**
   * On start-up, renews every lease owned by this worker id, expired or not: a restart resumes at
   * once. Not one still waiting for its previous owner's handoff checkpoint (Java skips those too).
   */
  async initialize(leases: Lease[], stopping?: AbortSignal): Promise<Lease[]> {
    const mine = leases.filter((l) => l.leaseOwner === this.workerId && l.checkpointOwner === undefined);
    const resumed: Lease[] = [];
    const all = Promise.all(
      mine.map(async (lease) => {
        if (await this.resume(lease)) resumed.push(lease);
      }),
    );
    // A shutdown does not wait for resumptions still in flight: what they hold is dropped with the rest.
    if (stopping) await Promise.race([all, wakeable(() => undefined, stopping)]);
    else await all;
    return stopping?.aborted ? [] : resumed;
  }

  /** Renews one own lease found at start-up and holds it when that worked. */
  async resume(lease: Lease, token: string = randomUUID(), slot?: SharedArrayBuffer): Promise<HeldLease | undefined> {
    const start = sharedNow();
    try {
      if (await this.refresher.renewLease(lease)) return this.adopt(lease, token, slot, start);
    } catch (err) {
      this.logger.warn({ leaseKey: lease.leaseKey, ...errorFields(err) }, 'Could not resume an own lease at start-up');
    }
    return undefined;
  }

  /** Starts holding a lease just taken (with a fresh concurrency token). */
  add(lease: Lease, renewedAtMs = sharedNow()): HeldLease {
    return this.adopt(lease, randomUUID(), undefined, renewedAtMs);
  }

  /**
   * Starts holding a lease under a given token and renewal slot (the renewal thread's side of `add`).
   * Without `renewedAtMs`, the time already in the slot stands.
   */
  adopt(lease: Lease, concurrencyToken: string, slot: SharedArrayBuffer | undefined, renewedAtMs?: number): HeldLease {
    const held = new HeldLease(lease, concurrencyToken, slot);
    if (renewedAtMs !== undefined) held.lastRenewalMs = renewedAtMs;
    this.held.set(lease.leaseKey, held);
    this.watchExpiry(held);
    return held;
  }

  /** Gives the lease up when it expires locally, not at the next renewal round: a shard stops within the window. */
  private watchExpiry(held: HeldLease): void {
    const key = held.lease.leaseKey;
    clearTimeout(this.expiryTimers.get(key));
    if (this.held.get(key) !== held) return;
    const left = held.lastRenewalMs + this.failoverTimeMs - sharedNow();
    if (left < 0) {
      this.lose(held, 'expired locally: not renewed within the failover time');
      return;
    }
    // Renewed meanwhile: look again at the new expiry. Never keeps the process alive by itself.
    this.expiryTimers.set(key, setTimeout(() => this.watchExpiry(held), Math.ceil(left) + 1).unref());
  }

  isExpired(held: HeldLease, now = sharedNow()): boolean {
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
    return this.forget(leaseKey);
  }

  /** Forgets a lease here (map and expiry timer) and nothing else. */
  protected forget(leaseKey: string): HeldLease | undefined {
    const held = this.held.get(leaseKey);
    this.held.delete(leaseKey);
    this.throughput.delete(leaseKey);
    clearTimeout(this.expiryTimers.get(leaseKey));
    this.expiryTimers.delete(leaseKey);
    return held;
  }

  /** One renewal round over every held lease, in parallel. */
  async renewLeases(): Promise<void> {
    const scope = this.metrics.scope('RenewAllLeases', { WorkerIdentifier: this.workerId });
    const start = performance.now();
    const before = this.held.size;
    const failed: { leaseKey: string; err: unknown }[] = [];
    const results = await Promise.all(this.heldLeases().map((h) => this.renew(h, scope, failed)));
    const lost = results.filter((ok) => !ok).length;
    this.reportFailures(failed);
    scope
      .add('CurrentLeases', this.held.size, 'Count', 'SUMMARY')
      .add('LostLeases', lost, 'Count', 'SUMMARY')
      .addSuccessAndLatency(undefined, lost === 0 || before === 0, start, 'SUMMARY')
      .end();
  }

  /**
   * One WARN per round, not one per lease: a slow table with 1,000 leases held would otherwise write
   * 1,000 lines every renewal interval. Each lease's failure is still at DEBUG.
   */
  private reportFailures(failed: { leaseKey: string; err: unknown }[]): void {
    const first = failed[0];
    if (first === undefined) return;
    const leaseKeys = failed.slice(0, 10).map((f) => f.leaseKey);
    this.logger.warn({ failed: failed.length, held: this.held.size, leaseKeys, ...errorFields(first.err) }, 'Lease renewal failed for some leases; the next round retries them until they expire');
  }

  private renew(held: HeldLease, scope: ReturnType<Metrics['scope']>, failed: { leaseKey: string; err: unknown }[]): Promise<boolean> {
    return held.mutex.run(async () => {
      if (this.held.get(held.lease.leaseKey) !== held) return true; // dropped meanwhile
      const start = sharedNow();
      const started = performance.now();
      if (this.isExpired(held, start)) return this.lose(held, 'expired locally before it could be renewed');
      try {
        this.updateThroughput(held);
        const ok = await this.refresher.renewLease(held.lease, { abortSignal: this.untilExpiry(held, start) });
        scope.addSuccessAndLatency('RenewLease', ok, started, 'DETAILED');
        if (!ok) return this.lose(held, 'another worker changed it (renewal condition failed)');
        if (this.held.get(held.lease.leaseKey) === held) held.lastRenewalMs = start;
        const lease = held.lease;
        if (isHandoffFrom(lease, this.workerId) && lease.leaseOwner !== undefined) this.onHandoffRequested?.(lease.leaseKey, lease.leaseOwner);
        return true;
      } catch (err) {
        // A failed call is not a loss: the next round retries until the lease expires locally.
        scope.addSuccessAndLatency('RenewLease', false, started, 'DETAILED');
        this.logger.debug({ leaseKey: held.lease.leaseKey, ...errorFields(err) }, 'Lease renewal failed; will retry');
        failed.push({ leaseKey: held.lease.leaseKey, err });
        return true;
      }
    });
  }

  /** The bytes read since the last renewal as KB/s over the renewal interval, smoothed (written with the renewal). */
  private updateThroughput(held: HeldLease): void {
    if (this.renewerIntervalMs <= 0) return;
    const bytes = held.takeBytes();
    if (bytes === undefined) return;
    const key = held.lease.leaseKey;
    const sample = bytes / 1024 / (this.renewerIntervalMs / 1000);
    const prev = this.throughput.get(key);
    const ema = prev === undefined ? sample : THROUGHPUT_EMA_ALPHA * sample + (1 - THROUGHPUT_EMA_ALPHA) * prev;
    this.throughput.set(key, ema);
    held.lease.throughputKBps = Math.round(ema * 1e6) / 1e6;
  }

  /** A write for a lease may not outlive it: abort when it would expire. */
  private untilExpiry(held: HeldLease, now: number): AbortSignal {
    return AbortSignal.timeout(Math.max(1, Math.floor(held.lastRenewalMs + this.failoverTimeMs - now)));
  }

  protected lose(held: HeldLease, reason: string): false {
    if (this.held.get(held.lease.leaseKey) === held) {
      this.drop(held.lease.leaseKey);
      held.lastRenewalMs = 0; // expired for every thread that reads the slot, at once
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
      const start = sharedNow();
      if (this.held.get(leaseKey) !== held || this.isExpired(held, start)) return false;
      const copy: Lease = structuredClone(held.lease);
      change(copy);
      const ok = await this.refresher.updateLease(copy, { abortSignal: this.untilExpiry(held, start) });
      if (!ok) return this.lose(held, 'another worker changed it (checkpoint condition failed)');
      held.lease = copy;
      if (this.held.get(leaseKey) === held) held.lastRenewalMs = start; // the counter moved: other workers saw a heartbeat
      return true;
    });
  }

  /**
   * Gives a held lease back in DynamoDB (owner removed, conditional on the owner), serialized with its
   * renewals, so another worker can take it at once. False when it was not held or the write failed.
   */
  async releaseLease(leaseKey: string, timeoutMs: number): Promise<boolean> {
    const held = this.forget(leaseKey);
    if (!held) return false;
    try {
      return await held.mutex.run(() => this.refresher.evictLease(held.lease, { abortSignal: AbortSignal.timeout(timeoutMs) }));
    } catch (err) {
      this.logger.warn({ leaseKey, ...errorFields(err) }, 'Could not release lease; it will expire instead');
      return false;
    }
  }

  /** Stops holding every lease (no writes) and every timer. */
  close(): Promise<void> {
    for (const key of [...this.held.keys()]) this.forget(key);
    return Promise.resolve();
  }
}
