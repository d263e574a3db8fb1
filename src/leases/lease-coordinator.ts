import type { Lease } from './lease.ts';
import type { LeaseRefresher } from './lease-refresher.ts';
import { LeaseRenewer, type HeldLease } from './lease-renewer.ts';
import { LeaseTaker } from './lease-taker.ts';
import { MAX_QUIET_ROUNDS_SKIPPED, PeerWatch, planReleasedLeaseProbe, probesPerPeerRead } from './released-lease-probe.ts';
import { monotonicNow, settlesWithin } from '../common/backoff.ts';
import { ThreadLeaseRenewer } from './thread-lease-renewer.ts';
import type { LeaseDiscoverer } from './lease-discoverer.ts';
import type { RenewalPlacement } from './renewal-thread-messages.ts';
import { EventLoopLagMonitor } from '../metrics/event-loop-lag.ts';
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
  /** Where renewals run (see placeRenewals); absent = on this thread, silently. */
  renewal?: RenewalPlacement;
  /**
   * KCL 3.x: who assigns leases now. '2.x' = this worker's taker; '3.x' = the leader, and this worker
   * only discovers what it was given (every `leaseDiscoveryIntervalMs`). Read before every round, so
   * a client-version migration switches it while the worker runs (Java's mode provider).
   */
  assignmentMode?: () => LeaseAssignmentMode;
  discoverer?: LeaseDiscoverer;
  leaseDiscoveryIntervalMs?: number;
}

/** Java LeaseAssignmentMode: DEFAULT_LEASE_COUNT_BASED_ASSIGNMENT ('2.x') or WORKER_UTILIZATION_AWARE_ASSIGNMENT ('3.x'). */
export type LeaseAssignmentMode = '2.x' | '3.x';

export interface LeaseCoordinatorListener {
  leaseAcquired(held: HeldLease): void;
  leaseLost(leaseKey: string, reason: string): void;
  /** KCL 3.x: the leader moved a held lease to `newOwner`; checkpoint, then hand it over (releaseLease). */
  handoffRequested?(leaseKey: string, newOwner: string): void;
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
  private discoveryLoop: Periodic | undefined;
  private readonly logger: Logger;
  private readonly lag: EventLoopLagMonitor;
  private readonly peerWatch: PeerWatch;
  /** A taker round is due now (woken by the probe or a shard sync), not only by its schedule. */
  private wanted = false;
  /** The last round wanted nothing and every probe since read its peers without a failure. */
  private quiet = false;
  private skipped = 0;
  /** Probes since the last one that read every peer. */
  private probesSincePeerRead = Infinity;
  /** The release signal being written, and whether more leases were released while it was. */
  private signalling: Promise<void> | undefined;
  private signalAgain = false;

  constructor(
    private readonly refresher: LeaseRefresher,
    private readonly options: LeaseCoordinatorOptions,
    logger: Logger,
    metrics: Metrics,
    private readonly listener: LeaseCoordinatorListener,
  ) {
    this.logger = childLogger(logger, { component: 'LeaseCoordinator' });
    const renewerLogger = childLogger(logger, { component: 'LeaseRenewer' });
    const onLost = (key: string, reason: string): void => listener.leaseLost(key, reason);
    const renewal = options.renewal;
    if (renewal && 'thread' in renewal) {
      this.renewer = new ThreadLeaseRenewer(renewal.thread, refresher, renewerLogger, metrics, onLost, renewal.access);
    } else {
      if (renewal) this.logger.info({ reason: renewal.mainThread }, 'Renewing leases on the main thread: a busy event loop can delay renewals');
      this.renewer = new LeaseRenewer(refresher, options.workerId, options.failoverTimeMs, renewerLogger, metrics, onLost);
    }
    if (this.mode() === '3.x') this.renewer.recordThroughputOver(options.renewerIntervalMs);
    this.renewer.onHandoffRequested = (key, newOwner) => listener.handoffRequested?.(key, newOwner);
    this.taker = new LeaseTaker(refresher, options, childLogger(logger, { component: 'LeaseTaker' }), metrics);
    this.peerWatch = new PeerWatch(options.failoverTimeMs);
    this.lag = new EventLoopLagMonitor(metrics, this.logger, {
      intervalMs: options.renewerIntervalMs,
      warnAboveMs: Math.floor(options.failoverTimeMs / 3),
      dimensions: { WorkerIdentifier: options.workerId },
    });
  }

  /**
   * Resumes this worker's own leases, then starts the renewer and taker loops. `leases` is a scan the
   * caller just made (start-up shard sync), saving one.
   */
  async start(leases?: Lease[], stopping?: AbortSignal): Promise<void> {
    this.renewer.start();
    leases ??= await this.refresher.listLeases(stopping ? { abortSignal: stopping } : {});
    this.taker.lastScan = leases;
    this.taker.updateStamps(leases);
    const resumed = await this.renewer.initialize(leases, stopping);
    if (stopping?.aborted) return;
    for (const lease of resumed) this.acquired(lease);
    const signal = this.abort.signal;
    if (signal.aborted) return; // stopped while resuming: start nothing
    const onError = (what: string) => (err: unknown) => this.logger.warn(errorFields(err), `${what} failed; next round retries`);
    this.takerLoop = new Periodic(() => (this.mode() === '2.x' ? this.runTaker() : Promise.resolve()), this.options.takerIntervalMs, signal, onError('Lease taker round'));
    this.loops = [this.takerLoop];
    const discoverer = this.options.discoverer;
    if (discoverer) {
      const discover = async (): Promise<void> => {
        if (this.mode() !== '3.x') return;
        const held = new Set(this.renewer.heldLeases().map((h) => h.lease.leaseKey));
        for (const lease of await discoverer.discoverNewLeases(held, signal)) if (!signal.aborted) this.acquired(lease);
      };
      this.discoveryLoop = new Periodic(discover, this.options.leaseDiscoveryIntervalMs ?? this.options.takerIntervalMs, signal, onError('Lease discovery round'));
      this.loops.push(this.discoveryLoop);
    }
    // The renewal thread keeps its own schedule; the main-thread renewer runs on this one.
    if (!this.renewer.ownsSchedule) this.loops.push(new Periodic(() => this.renewer.renewLeases(), this.options.renewerIntervalMs, signal, onError('Lease renewal round')));
    this.lag.start();
    if (this.options.unownedLeasePollIntervalMs > 0) {
      const probe = async (): Promise<void> => {
        if (this.mode() !== '2.x') return;
        try {
          if (await this.releasedLeasesSeen(signal)) this.wakeTaker();
        } catch (err) {
          this.quiet = false; // nothing is known of the peers: the next round scans
          throw err;
        }
      };
      this.loops.push(new Periodic(probe, this.options.unownedLeasePollIntervalMs, signal, onError('Unowned-lease probe'), { initialDelayMs: this.options.unownedLeasePollIntervalMs }));
    }
  }

  /**
   * The cheapest read that tells whether a peer released leases (or died) since the last scan (see
   * released-lease-probe.ts). Only the per-peer reads let taker rounds be skipped: a count Scan costs
   * as much as the round's own.
   */
  private async releasedLeasesSeen(signal: AbortSignal): Promise<boolean> {
    const plan = planReleasedLeaseProbe(this.taker.lastScan, this.options.workerId);
    if (plan.kind === 'none') return false;
    if (plan.kind === 'owners' && this.refresher.leaseOwners) {
      const every = plan.signal === undefined ? 1 : probesPerPeerRead(this.options.failoverTimeMs, this.options.unownedLeasePollIntervalMs);
      const readAll = ++this.probesSincePeerRead >= every;
      if (readAll) this.probesSincePeerRead = 0;
      const keys = new Set(readAll ? plan.expected.keys() : []);
      if (plan.signal !== undefined) keys.add(plan.signal);
      const now = await this.refresher.leaseOwners([...keys], { abortSignal: signal });
      const signalled = plan.signal !== undefined && this.peerWatch.signalled(plan.signal, now.get(plan.signal));
      return this.peerWatch.changed(plan.expected, now, monotonicNow(), readAll) || signalled;
    }
    this.quiet = false;
    return this.refresher.hasUnownedLeases({ abortSignal: signal });
  }

  /**
   * One taker round, or none: while the table is quiet (the last round wanted nothing, the probe reads
   * every peer and saw no release or death, no shard sync asked) up to MAX_QUIET_ROUNDS_SKIPPED rounds
   * in a row skip their full Scan, the largest read cost of a balanced fleet. New leases another
   * worker's shard sync made wait for the next round that scans.
   */
  private async runTaker(): Promise<void> {
    const wanted = this.wanted;
    this.wanted = false;
    if (!wanted && this.quiet && this.skipped < MAX_QUIET_ROUNDS_SKIPPED) {
      this.skipped++;
      return;
    }
    this.skipped = 0;
    this.quiet = false;
    const held = new Set(this.renewer.heldLeases().map((h) => h.lease.leaseKey));
    const taken = await this.taker.takeLeases(held);
    for (const lease of taken) this.acquired(lease);
    const plan = planReleasedLeaseProbe(this.taker.lastScan, this.options.workerId).kind;
    this.quiet = !this.taker.lastRoundWanted && taken.length === 0 && this.options.unownedLeasePollIntervalMs > 0 && plan !== 'scan';
  }

  private acquired(lease: Lease): void {
    const held = this.renewer.getCurrentlyHeldLease(lease.leaseKey) ?? this.renewer.add(lease);
    this.listener.leaseAcquired(held);
  }

  private mode(): LeaseAssignmentMode {
    return this.options.assignmentMode?.() ?? '2.x';
  }

  /** A client-version change: throughput on renew is written in 3.x mode only (the 3.x leader reads it). */
  assignmentModeChanged(): void {
    this.renewer.recordThroughputOver(this.mode() === '3.x' ? this.options.renewerIntervalMs : 0);
    this.wakeTaker();
  }

  /** Runs a taker round soon (e.g. after shard sync created leases); in 3.x mode, a discovery round. */
  wakeTaker(): void {
    this.wanted = true;
    this.takerLoop?.wake();
    this.discoveryLoop?.wake();
  }

  /** Stops taking new leases; held leases keep being renewed until `stop()`. */
  /** Resolves once a taker round in progress has finished: every lease it took has been reported. */
  async stopTaking(): Promise<void> {
    const loops = [this.takerLoop, this.discoveryLoop].filter((l): l is Periodic => l !== undefined);
    this.takerLoop = undefined;
    this.discoveryLoop = undefined;
    await Promise.all(loops.map((l) => l.stop()));
  }

  /**
   * Gives a held lease back in DynamoDB (owner removed) so another worker can take it at once, and
   * tells the peers' probes so through the release signal (see released-lease-probe.ts).
   */
  async releaseLease(leaseKey: string): Promise<boolean> {
    // Serialized with the lease's renewals and conditional on its owner, wherever they run.
    const released = await this.renewer.releaseLease(leaseKey, this.options.failoverTimeMs);
    if (released && this.mode() === '2.x') void this.signalReleases();
    return released;
  }

  /**
   * Bumps the release signal on the table's lowest lease key. Coalesced: one write at a time, and one
   * more after it when leases were released meanwhile, so a shutdown releasing 100 leases writes a few
   * times, not 100. A failure is logged: peers then notice at their next per-peer read or taker round.
   */
  private signalReleases(): Promise<void> {
    if (this.signalling) {
      this.signalAgain = true;
      return this.signalling;
    }
    // Written only where peers read it: a fleet whose probes read the signal (this worker's view of it).
    const plan = planReleasedLeaseProbe(this.taker.lastScan, this.options.workerId);
    const key = plan.kind === 'owners' ? plan.signal : undefined;
    if (key === undefined || !this.refresher.signalReleases) return Promise.resolve();
    const write = this.refresher.signalReleases(key).then(
      () => undefined,
      (err: unknown) => this.logger.warn({ leaseKey: key, ...errorFields(err) }, 'Could not signal released leases to the other workers; they notice at their next round'),
    );
    this.signalling = write.finally(() => {
      this.signalling = undefined;
      if (this.signalAgain) {
        this.signalAgain = false;
        void this.signalReleases();
      }
    });
    return this.signalling;
  }

  /** Stops every loop, drops all leases locally (no DynamoDB writes: they expire for others) and ends the renewal thread. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.lag.stop();
    // The last release signal of a graceful shutdown goes out before the worker ends (within the failover time).
    if (this.signalling) await settlesWithin(this.signalling.then(() => this.signalling), this.options.failoverTimeMs);
    await Promise.all(this.loops.map((l) => l.done));
    await this.renewer.close();
  }
}
