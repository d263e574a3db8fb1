import type { Lease } from './lease.ts';
import type { LeaseRefresher } from './lease-refresher.ts';
import { LeaseRenewer, type HeldLease } from './lease-renewer.ts';
import { LeaseTaker } from './lease-taker.ts';
import { Periodic } from '../common/periodic.ts';
import { childLogger, errorFields, type Logger } from '../common/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

export interface LeaseCoordinatorOptions {
  workerId: string;
  failoverTimeMs: number;
  renewerIntervalMs: number;
  takerIntervalMs: number;
  /** How often to probe for unowned leases and run a taker round at once when there are some; 0 = never. */
  unownedLeasePollIntervalMs: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  enablePriorityLeaseAssignment: boolean;
}

export interface LeaseCoordinatorListener {
  leaseAcquired(held: HeldLease): void;
  leaseLost(leaseKey: string, reason: string): void;
}

/**
 * Runs the renewer and the taker on their schedules (Java's DynamoDBLeaseCoordinator) and tells the
 * scheduler about leases gained and lost. Knows nothing of records.
 */
export class LeaseCoordinator {
  readonly renewer: LeaseRenewer;
  readonly taker: LeaseTaker;
  private readonly abort = new AbortController();
  private loops: Periodic[] = [];
  private takerLoop: Periodic | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly refresher: LeaseRefresher,
    private readonly options: LeaseCoordinatorOptions,
    logger: Logger,
    metrics: Metrics,
    private readonly listener: LeaseCoordinatorListener,
  ) {
    this.logger = childLogger(logger, { component: 'LeaseCoordinator' });
    this.renewer = new LeaseRenewer(refresher, options.workerId, options.failoverTimeMs, childLogger(logger, { component: 'LeaseRenewer' }), metrics, (key, reason) =>
      listener.leaseLost(key, reason),
    );
    this.taker = new LeaseTaker(refresher, options, childLogger(logger, { component: 'LeaseTaker' }), metrics);
  }

  /**
   * Resumes this worker's own leases, then starts the renewer and taker loops. `leases` is a scan the
   * caller just made (start-up shard sync), saving one.
   */
  async start(leases?: Lease[], stopping?: AbortSignal): Promise<void> {
    const callOptions = stopping ? { abortSignal: stopping } : {};
    leases ??= await this.refresher.listLeases(callOptions);
    this.taker.lastScan = leases;
    this.taker.updateStamps(leases);
    const resumed = await this.renewer.initialize(leases, stopping);
    if (stopping?.aborted) return;
    for (const lease of resumed) this.acquired(lease);
    const signal = this.abort.signal;
    const onError = (what: string) => (err: unknown) => this.logger.warn(errorFields(err), `${what} failed; next round retries`);
    this.takerLoop = new Periodic(() => this.runTaker(), this.options.takerIntervalMs, signal, onError('Lease taker round'));
    this.loops = [this.takerLoop, new Periodic(() => this.renewer.renewLeases(), this.options.renewerIntervalMs, signal, onError('Lease renewal round'))];
    if (this.options.unownedLeasePollIntervalMs > 0) {
      const probe = async (): Promise<void> => {
        if (await this.refresher.hasUnownedLeases({ abortSignal: signal })) this.takerLoop?.wake();
      };
      this.loops.push(new Periodic(probe, this.options.unownedLeasePollIntervalMs, signal, onError('Unowned-lease probe'), { initialDelayMs: this.options.unownedLeasePollIntervalMs }));
    }
  }

  private async runTaker(): Promise<void> {
    const held = new Set(this.renewer.heldLeases().map((h) => h.lease.leaseKey));
    for (const lease of await this.taker.takeLeases(held)) this.acquired(lease);
  }

  private acquired(lease: Lease): void {
    const held = this.renewer.getCurrentlyHeldLease(lease.leaseKey) ?? this.renewer.add(lease);
    this.listener.leaseAcquired(held);
  }

  /** Runs a taker round soon (e.g. after shard sync created leases). */
  wakeTaker(): void {
    this.takerLoop?.wake();
  }

  /** Stops taking new leases; held leases keep being renewed until `stop()`. */
  /** Resolves once a taker round in progress has finished: every lease it took has been reported. */
  async stopTaking(): Promise<void> {
    const loop = this.takerLoop;
    this.takerLoop = undefined;
    await loop?.stop();
  }

  /** Gives a held lease back in DynamoDB (owner removed) so another worker can take it at once. */
  async releaseLease(leaseKey: string): Promise<boolean> {
    const held = this.renewer.drop(leaseKey);
    if (!held) return false;
    try {
      return await held.mutex.run(() => this.refresher.evictLease(held.lease, { abortSignal: AbortSignal.timeout(this.options.failoverTimeMs) }));
    } catch (err) {
      this.logger.warn({ leaseKey, ...errorFields(err) }, 'Could not release lease; it will expire instead');
      return false;
    }
  }

  /** Stops every loop and drops all leases locally (no DynamoDB writes: they expire for others). */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops.map((l) => l.done));
    for (const held of this.renewer.heldLeases()) this.renewer.drop(held.lease.leaseKey);
  }
}
