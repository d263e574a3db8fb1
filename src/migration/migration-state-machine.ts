import type { DynamoDBCaller } from '../leases/dynamodb/dynamodb-caller.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import { Periodic } from '../common/periodic.ts';
import { KinesisClientLibDependencyException } from '../errors.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { WorkerMetricStats } from '../workermetrics/worker-metric-stats.ts';
import { behaviourOf, followClientVersionChange, monitorsClientVersion, type ClientVersionBehaviour } from './client-version-behaviour.ts';
import { DynamoDBLeaseRefresher } from '../leases/dynamodb/dynamodb-lease-refresher.ts';
import {
  initialStabilizer,
  isReadyForUpgradeTo3x,
  MIGRATION_MONITOR_INTERVAL_MS,
  MIGRATION_READY_STABILITY_MS,
  resetStabilizer,
  stabilize,
  WORKER_METRICS_EXPIRY_MS,
  type ReadinessLease,
  type ReadinessStabilizer,
} from './migration-readiness.ts';
import { MigrationStateDao, type MigrationStateTable } from './migration-state-dao.ts';
import { clientVersionForInitialization, initialMigrationState, updateMigrationState, type ClientVersion, type ClientVersionConfig, type MigrationState } from './migration-state.ts';

/** What the state machine switches in the worker (Java's DynamicMigrationComponentsInitializer). */
export interface MigrationRuntime {
  /** Switch lease assignment: '2.x' taker, or '3.x' GSI discovery + leader LeaseAssignmentManager. */
  setLeaseAssignmentMode(mode: '2.x' | '3.x'): void;
  /** Start or stop publishing this worker's WorkerMetricStats item. */
  setWorkerMetricsReporting(on: boolean): void;
  /**
   * Whether this worker leads now (MigrationReadyMonitor runs only there). Java asks the decider in
   * force: the 2.x deterministic shuffle leader during UPGRADE_FROM_2X (see setLeaderDecider). Any
   * answer that elects one worker will do: the flip it triggers is a conditional write.
   */
  isLeader(): Promise<boolean>;
  /** Every lease and WorkerMetricStats item, for the readiness rule (one scan). */
  loadAssignmentData(): Promise<{ leases: ReadinessLease[]; workerMetrics: WorkerMetricStats[] }>;
  /** Optional: which leader decider is in force, '2.x' deterministic shuffle (shard sync) or '3.x' lock-based. */
  setLeaderDecider?(decider: '2.x' | '3.x'): void;
  /**
   * Optional: start creating the lease table's LeaseOwnerToLeaseKeyIndex (UpdateTable; Java's
   * createLeaseOwnerToLeaseKeyIndexIfNotExists, without waiting). The flip waits for that index to be
   * ACTIVE; the leader calls this each period while the index is missing.
   */
  createLeaseOwnerToLeaseKeyIndexIfNotExists?(): Promise<void>;
}

export interface MigrationStateMachineOptions {
  client: DynamoDBCaller;
  tableName: string;
  requestTimeoutMs: number;
  signal: AbortSignal;
  workerId: string;
  config: ClientVersionConfig;
  runtime: MigrationRuntime;
  logger: Logger;
  metrics?: Metrics;
  /** Java's monitor period (1 min); shortened in tests. */
  monitorIntervalMs?: number;
  /** MigrationReadyMonitor's stable period (Java: 10 min). */
  readyStabilityMs?: number;
  /** Age past which a WorkerMetricStats item is not active (Java: 2 x the reporter period = 60 s). */
  workerMetricsExpiryMs?: number;
  /** For the change monitor's initial jitter (tests). */
  random?: () => number;
}

/** Java's ClientVersionChangeMonitor staggers its first read by up to half a period. */
const CHANGE_MONITOR_JITTER = 0.5;
/** Lost create/update races at start-up re-read the item; past this many the Scheduler's start-up retry takes over. */
const INITIALIZE_ATTEMPTS = 3;
const METRICS_OPERATION = 'Migration';

/**
 * The KCL 2.x -> 3.x client-version state machine (Java MigrationStateMachineImpl and its five
 * MigrationClientVersion*State classes). It reads the fleet's `Migration3.0` item, writes this
 * worker's starting version where Java does, switches the runtime to what each version means
 * (client-version-behaviour.ts), and follows versions written by others: the leader's flip to
 * 3X_WITH_ROLLBACK, a 3.x-configured worker's move to 3X, the KCL migration tool's rollback to 2X
 * and roll-forward to UPGRADE_FROM_2X. Monitors are loops that end only on stop(); a failed run is
 * logged (WARN) and retried the next period.
 *
 * Only the 3.5 single-table layout: the item lives in the lease table (`leaseKey` = `Migration3.0`).
 * A fleet whose item is still in a pre-3.5 `<app>-CoordinatorState` table is not detected: this
 * worker would start from its own configuration in the lease table.
 */
export class MigrationStateMachine {
  private version: ClientVersion = 'CLIENT_VERSION_INIT';
  /** The item as this worker last knew it on entering `version` (Java's curentMigrationState). */
  private entered: MigrationState | undefined;
  private applied: ClientVersionBehaviour | undefined;
  /** Bumped on each transition: a monitor run of a state already left changes nothing. */
  private epoch = 0;
  private monitors: { change?: Periodic; ready?: Periodic } = {};
  private readonly running = new Set<Promise<void>>();
  private readonly dao: MigrationStateDao;
  private readonly table: MigrationStateTable;
  /** For the owner index's status (a missing table reads as no index, as Java's describeLeaseTable). */
  private readonly leaseTable: DynamoDBLeaseRefresher;
  private readonly stopController = new AbortController();
  private readonly signal: AbortSignal;
  private initializing: Promise<ClientVersion> | undefined;
  private initialized = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: MigrationStateMachineOptions) {
    this.signal = AbortSignal.any([options.signal, this.stopController.signal]);
    this.table = { client: options.client, tableName: options.tableName, requestTimeoutMs: options.requestTimeoutMs, signal: this.signal };
    this.leaseTable = new DynamoDBLeaseRefresher(options.client, options.tableName, 'PAY_PER_REQUEST', options.requestTimeoutMs);
    this.dao = new MigrationStateDao(this.table);
  }

  private get intervalMs(): number {
    return this.options.monitorIntervalMs ?? MIGRATION_MONITOR_INTERVAL_MS;
  }

  /** Read (or create) the item, enter the starting version, start its monitors. A failure rejects: the caller's start-up retries. */
  initialize(): Promise<ClientVersion> {
    if (this.initialized) return Promise.resolve(this.version);
    this.initializing ??= this.initializeOnce().finally(() => (this.initializing = undefined));
    return this.initializing;
  }

  currentClientVersion(): ClientVersion {
    return this.version;
  }

  /** Stops the monitors (idempotent); resolves when no monitor run is left. The runtime's components are the caller's to stop. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopController.abort();
      this.epoch++;
      this.cancelMonitors();
      await Promise.all([...this.running]);
    })();
    return this.stopping;
  }

  private async initializeOnce(): Promise<ClientVersion> {
    const { workerId, config, logger } = this.options;
    for (let attempt = 1; ; attempt++) {
      // MigrationClientVersionStateInitializer: no item means CLIENT_VERSION_INIT, the configuration decides.
      const stored = (await this.dao.get()) ?? initialMigrationState(workerId, Date.now());
      const target = clientVersionForInitialization(stored, config);
      const state = await this.ensureStored(stored, target);
      if (state !== undefined) {
        if (this.signal.aborted) throw new KinesisClientLibDependencyException('Migration state machine stopped during initialization');
        logger.info({ clientVersion: target, stored: stored.clientVersion, config }, 'Migration state machine starts');
        this.enter(target, state);
        this.initialized = true;
        return target;
      }
      if (attempt >= INITIALIZE_ATTEMPTS) throw new KinesisClientLibDependencyException(`Could not write ${target} to the migration state: it kept changing (${attempt} attempts)`);
      logger.info({ clientVersion: target, stored: stored.clientVersion }, 'Migration state changed while starting; reading it again');
    }
  }

  /**
   * AbstractMigrationClientVersionState.ensureDdbStateMatchesClientVersion: nothing to write when the
   * item already holds `target`; else create it (no item yet) or update it on the version read.
   * Undefined when another writer got there first.
   */
  private async ensureStored(stored: MigrationState, target: ClientVersion): Promise<MigrationState | undefined> {
    if (stored.clientVersion === target || target === 'CLIENT_VERSION_INIT') return stored; // Phase 1 writes nothing
    const next = updateMigrationState(stored, target, this.options.workerId, Date.now());
    const written = stored.clientVersion === 'CLIENT_VERSION_INIT' ? await this.dao.createIfNotExists(next) : await this.dao.updateIfClientVersion(next, stored.clientVersion);
    return written ? next : undefined;
  }

  /** Leave the current version (its monitors), switch what differs, start the new version's monitors. */
  private enter(version: ClientVersion, state: MigrationState): void {
    const from = this.version;
    this.epoch++;
    this.cancelMonitors();
    this.version = version;
    this.entered = state;
    this.apply(behaviourOf(version));
    const epoch = this.epoch;
    if (monitorsClientVersion(version)) {
      const jitter = (this.options.random ?? Math.random)() * this.intervalMs * CHANGE_MONITOR_JITTER;
      this.monitors.change = this.startMonitor(() => this.checkClientVersionChange(epoch), 'client version change', this.intervalMs + jitter);
    }
    if (behaviourOf(version).migrationReadyMonitor) {
      let stabilizer = initialStabilizer();
      this.monitors.ready = this.startMonitor(async () => (stabilizer = await this.checkMigrationReady(epoch, stabilizer)), 'migration ready', this.intervalMs);
    }
    this.options.logger.info({ from, to: version }, `Entered ${version}`);
  }

  /** Calls only the runtime switches whose value changes (all of them on the first entry). */
  private apply(next: ClientVersionBehaviour): void {
    const prev = this.applied;
    this.applied = next;
    const { runtime } = this.options;
    if (prev?.workerMetricsReporting !== next.workerMetricsReporting) this.safely('setWorkerMetricsReporting', () => runtime.setWorkerMetricsReporting(next.workerMetricsReporting));
    if (prev?.leaseAssignmentMode !== next.leaseAssignmentMode) this.safely('setLeaseAssignmentMode', () => runtime.setLeaseAssignmentMode(next.leaseAssignmentMode));
    if (prev?.leaderDecider !== next.leaderDecider && runtime.setLeaderDecider) this.safely('setLeaderDecider', () => runtime.setLeaderDecider?.(next.leaderDecider));
  }

  /** Java logs a failing mode-change consumer and carries on (notifyLeaseAssignmentModeChange). */
  private safely(what: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.options.logger.warn({ ...errorFields(err), clientVersion: this.version }, `Migration runtime ${what} failed`);
    }
  }

  private startMonitor(task: () => Promise<unknown>, name: string, initialDelayMs: number): Periodic {
    const monitor = new Periodic(
      async () => {
        await task();
      },
      this.intervalMs,
      this.signal,
      (err) => {
        this.fault();
        this.options.logger.warn({ ...errorFields(err), clientVersion: this.version }, `Migration ${name} monitor failed; retrying in ${this.intervalMs} ms`);
      },
      { initialDelayMs },
    );
    this.running.add(monitor.done);
    void monitor.done.then(() => this.running.delete(monitor.done));
    return monitor;
  }

  /** Cancel without waiting: a monitor may cancel itself from inside its own run. */
  private cancelMonitors(): void {
    for (const monitor of [this.monitors.change, this.monitors.ready]) if (monitor) void monitor.stop();
    this.monitors = {};
  }

  /** ClientVersionChangeMonitor.run plus the state's onClientVersionChange callback. */
  private async checkClientVersionChange(epoch: number): Promise<void> {
    this.count(this.version === 'CLIENT_VERSION_3X_WITH_ROLLBACK' ? 'CurrentState:3xWorker' : 'CurrentState:2xCompatibleWorker');
    const stored = await this.dao.get();
    if (stored === undefined || epoch !== this.epoch) return;
    const next = followClientVersionChange(this.version, stored.clientVersion);
    if (next === undefined) return;
    if (next === 'invalid') {
      // Java throws InvalidStateException here and keeps monitoring; it does not write its own version back.
      this.fault();
      this.options.logger.error({ clientVersion: this.version, stored: stored.clientVersion }, 'Migration state holds a client version this state cannot move to; staying');
      return;
    }
    this.options.logger.info({ from: this.version, to: next, modifiedBy: stored.modifiedBy }, 'Migration state client version changed; following it');
    this.enter(next, stored);
  }

  /** MigrationReadyMonitor.run on the leader, and UpgradeFrom2xState.onMigrationReady's conditional flip. */
  private async checkMigrationReady(epoch: number, stabilizer: ReadinessStabilizer): Promise<ReadinessStabilizer> {
    if (!(await this.options.runtime.isLeader())) return resetStabilizer(stabilizer);
    const leaseOwnerIndexActive = (await this.leaseTable.ownerIndexStatus({ abortSignal: this.signal })) === 'ACTIVE';
    // Java creates the index on entering UPGRADE_FROM_2X (createGsi(false)); here the leader asks for it until it is there.
    if (!leaseOwnerIndexActive) await this.options.runtime.createLeaseOwnerToLeaseKeyIndexIfNotExists?.();
    const data = leaseOwnerIndexActive ? await this.options.runtime.loadAssignmentData() : { leases: [], workerMetrics: [] };
    const now = Date.now();
    const ready = isReadyForUpgradeTo3x({ leaseOwnerIndexActive, ...data, nowMillis: now, workerMetricsExpiryMs: this.options.workerMetricsExpiryMs ?? WORKER_METRICS_EXPIRY_MS });
    this.count('GsiReadyStatus', leaseOwnerIndexActive ? 1 : 0);
    this.count('WorkerMetricsReadyStatus', ready ? 1 : 0);
    const { state, fire } = stabilize(stabilizer, ready, now, this.options.readyStabilityMs ?? MIGRATION_READY_STABILITY_MS);
    if (state.triggered !== stabilizer.triggered) this.options.logger.info({ ready, leaseOwnerIndexActive }, 'Migration readiness changed');
    if (!fire || epoch !== this.epoch || this.entered === undefined) return state;
    const from = this.entered;
    const flipped = updateMigrationState(from, 'CLIENT_VERSION_3X_WITH_ROLLBACK', this.options.workerId, Date.now());
    this.options.logger.info({ from: from.clientVersion }, 'Every lease owner reports worker metrics: flipping the fleet to CLIENT_VERSION_3X_WITH_ROLLBACK');
    // Every worker, this one included, moves when its change monitor reads the new version.
    if ((await this.dao.updateIfClientVersion(flipped, from.clientVersion)) && epoch === this.epoch) {
      void this.monitors.ready?.stop();
      delete this.monitors.ready;
    }
    return state;
  }

  /** Java's Migration metrics: one SUMMARY count per datum. */
  private count(name: string, value = 1): void {
    this.options.metrics?.scope(METRICS_OPERATION).add(name, value, 'Count', 'SUMMARY').end();
  }

  private fault(): void {
    this.count('Fault');
  }
}
