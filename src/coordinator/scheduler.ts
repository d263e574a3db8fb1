import { EventEmitter } from 'node:events';
import { resolveConfig, type ResolvedConfig, type SchedulerConfig } from '../config.ts';
import { AwsClients } from '../common/clients.ts';
import { childLogger, errorFields, type Logger } from '../common/logger.ts';
import { settlesWithin, sleep } from '../common/backoff.ts';
import { Periodic } from '../common/periodic.ts';
import { InitializationError } from '../errors.ts';
import { classifyStartupError, type StartupFailure } from '../common/startup-errors.ts';
import { DynamoDBLeaseRefresher } from '../leases/dynamodb/dynamodb-lease-refresher.ts';
import { LeaseCoordinator, type LeaseAssignmentMode } from '../leases/lease-coordinator.ts';
import { LeaseDiscoverer } from '../leases/lease-discoverer.ts';
import { Kcl3Components } from './kcl3-components.ts';
import { LeaseGracefulShutdownHandler } from '../lifecycle/lease-graceful-shutdown-handler.ts';
import { MigrationStateMachine, type MigrationRuntime } from '../migration/migration-state-machine.ts';
import { loadLeaseAssignmentData } from '../assignment/lease-assignment-data.ts';
import { detectCoordinatorStateLayout, legacyLayoutMessage } from '../migration/coordinator-state-layout.ts';
import { placeRenewals } from '../leases/renewal-thread-messages.ts';
import { accessFromClient } from '../leases/dynamodb/lean/sdk-client-access.ts';
import type { HeldLease } from '../leases/lease-renewer.ts';
import type { Lease } from '../leases/lease.ts';
import { isLeader } from '../leases/leader-decider.ts';
import { streamLabel } from '../retrieval/stream-identifier.ts';
import { DynamoDBCheckpointer } from '../checkpoint/dynamodb-checkpointer.ts';
import { ShardConsumer, type ShardConsumerContext } from '../lifecycle/shard-consumer.ts';
import { Metrics } from '../metrics/metrics.ts';
import { CloudWatchMetricsSink } from '../metrics/cloudwatch-sink.ts';
import { createOpenTelemetrySink } from '../metrics/opentelemetry-sink.ts';
import type { Checkpointer } from '../checkpoint/checkpointer.ts';
import { ByteBudget } from '../retrieval/byte-budget.ts';
import { IdlePollClock } from '../retrieval/polling/idle-poll-clock.ts';
import { createStreamRuntime, type StreamRuntime, type StreamRuntimeDeps } from './stream-runtime.ts';
import { MultiStreamManager } from '../multistream/multi-stream-manager.ts';
import { StreamTracker } from '../multistream/stream-tracker.ts';
import { assertLeaseTableMode, LeaseTableModeError } from '../multistream/lease-table-mode.ts';

/** The worker's lifecycle, as Java's WorkerStateChangeListener names it. */
export const WorkerState = {
  /** Constructed; `run()` not called yet. */
  CREATED: 'CREATED',
  /** Creating or checking the lease table, syncing shards. */
  INITIALIZING: 'INITIALIZING',
  /** Taking, renewing and processing leases. */
  STARTED: 'STARTED',
  /** Shutting down: processors are being stopped and leases released. */
  SHUT_DOWN_STARTED: 'SHUT_DOWN_STARTED',
  /** Stopped; `run()` has resolved. */
  SHUT_DOWN: 'SHUT_DOWN',
} as const;
/** One of the worker's lifecycle states. */
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

/**
 * The Scheduler's typed events. Listeners run detached from the lease loops: a listener that
 * throws or rejects is logged, never propagated. `error` carries the shard in `shardId` when it
 * came from a processor; with no `error` listener, errors are only logged.
 */
export interface SchedulerEvents {
  /** This worker took the shard's lease and starts processing it. */
  leaseAcquired: [shardId: string];
  /** This worker no longer holds the shard's lease (taken by another worker, expired, or released). */
  leaseLost: [shardId: string];
  /** The shard was fully processed and checkpointed at SHARD_END. */
  shardEnded: [shardId: string];
  /** A failure, reported once per failure streak; `shardId` is set when it came from a shard's processing. */
  error: [
    error: Error & {
      /** The shard whose processing failed, when one did. */
      shardId?: string;
    },
  ];
  /** The worker moved to another lifecycle state. */
  stateChange: [state: WorkerState];
}

/**
 * One worker of a KCL application (Java's Scheduler): syncs shards to leases, takes and renews leases
 * with other workers, runs one ShardConsumer per held lease, and shuts down gracefully.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  /** This worker's id in the lease table (`leaseOwner`): `config.workerId` or host name + pid + random suffix. */
  readonly workerId: string;
  private readonly config: ResolvedConfig;
  /** As the caller passed it: the clients are built from (and borrowed out of) this. */
  private readonly rawConfig: SchedulerConfig;
  private readonly logger: Logger;
  private readonly consumers = new Map<string, { consumer: ShardConsumer; held: HeldLease }>();
  private readonly abort = new AbortController();
  private clients: AwsClients | undefined;
  private coordinator: LeaseCoordinator | undefined;
  /** Single-stream mode: the one stream. */
  private single: StreamRuntime | undefined;
  /** Multi-stream mode: the streams. */
  private multi: MultiStreamManager | undefined;
  private checkpointer: Checkpointer | undefined;
  /** KCL 3.x: leader lock, lease assignment, worker metrics. */
  private kcl3: Kcl3Components | undefined;
  private assignmentMode: LeaseAssignmentMode = '2.x';
  /** Which leader is in force: Java 2.x's choice among the lease owners, or the 3.x lock. */
  private leaderKind: LeaseAssignmentMode = '2.x';
  private handoffs: LeaseGracefulShutdownHandler | undefined;
  /** The client-version migration: switches the two above while the worker runs. */
  private migration: MigrationStateMachine | undefined;
  private readonly metrics: Metrics;
  private state: WorkerState = WorkerState.CREATED;
  private runPromise: Promise<void> | undefined;
  /** Start-up in progress or done: shutdown waits for it, so the two never interleave. */
  private startPromise: Promise<void> | undefined;
  private stopped!: () => void;
  private readonly stoppedPromise = new Promise<void>((resolve) => (this.stopped = resolve));
  private gracefulPromise: Promise<boolean> | undefined;
  private shutdownPromise: Promise<void> | undefined;

  /**
   * Checks the whole config at once; nothing touches the network until `run()`.
   * @throws IllegalArgumentError naming the first invalid field and what to pass.
   */
  constructor(config: SchedulerConfig) {
    super({ captureRejections: true });
    this.config = resolveConfig(config);
    this.workerId = this.config.workerId;
    this.logger = childLogger(this.config.logger, { workerId: this.workerId });
    this.metrics = new Metrics(this.config.metrics.level, [...this.config.metrics.sinks], childLogger(this.logger, { component: 'Metrics' }), this.config.metrics.bufferTimeMs);
    this.rawConfig = config;
  }

  /** Starts the worker; resolves once it has shut down, rejects if it cannot start. */
  run(): Promise<void> {
    this.startPromise ??= this.start();
    this.runPromise ??= this.startPromise.then(
      () => this.stoppedPromise,
      async (err: unknown) => {
        this.logger.error(errorFields(err), 'Worker failed to start');
        this.abort.abort();
        await this.coordinator?.stop().catch(() => undefined); // its renewal thread must not outlive the worker
        await this.migration?.stop();
        await this.kcl3?.stop();
        await this.teardown();
        throw err;
      },
    );
    return this.runPromise;
  }

  /** Held shard ids (lease keys in multi-stream mode: `account:stream:creationEpoch:shardId`), for dashboards and tests. */
  heldShardIds(): string[] {
    return [...this.consumers.keys()].sort();
  }

  private setState(state: WorkerState): void {
    this.state = state;
    this.safeEmit('stateChange', state);
  }

  private async start(): Promise<void> {
    this.setState(WorkerState.INITIALIZING);
    const c = this.config;
    this.clients = new AwsClients(this.rawConfig, childLogger(this.logger, { component: 'AwsClients' }));
    await this.addMetricsSinks(this.clients);
    const initScope = this.metrics.scope('Scheduler:Initialize');
    const refresher = new DynamoDBLeaseRefresher(this.clients.leaseTable, c.tableName, c.lease.billingMode, c.lease.dynamoDbRequestTimeoutMs);
    const deps: StreamRuntimeDeps = {
      config: c,
      clients: this.clients,
      table: refresher,
      logger: this.logger,
      metrics: this.metrics,
      reportError: (err, key) => this.reportError(err, key),
      budget: new ByteBudget(c.retrieval.maxBytesInFlightPerWorker),
      idlePolls: new IdlePollClock(),
      signal: this.abort.signal,
      onEndedLeaseDeleted: (key) => this.coordinator?.renewer.drop(key),
    };
    if (c.multiStream) {
      const tracker = new StreamTracker(c.multiStream.streams, this.clients.kinesis, c.initialPosition, c.retrieval.kinesisRequestTimeoutMs);
      const logger = childLogger(this.logger, { component: 'MultiStreamTracker' });
      this.multi = new MultiStreamManager(tracker, c.multiStream.formerStreamsLeasesDeletionStrategy, refresher, (target) => createStreamRuntime(deps, target), logger, this.metrics);
    } else {
      this.single = createStreamRuntime(deps, { identifier: undefined, stream: c.stream, initialPosition: c.initialPosition });
    }
    this.startKcl3(refresher);
    let initialized = false;
    let leases: Lease[] | undefined;
    try {
      leases = await this.initializeWithRetries(refresher);
      initialized = !this.abort.signal.aborted;
    } finally {
      initScope.add('Initialize.Success', initialized ? 1 : 0, 'Count', 'SUMMARY').end();
    }
    if (this.abort.signal.aborted) return;
    this.coordinator = new LeaseCoordinator(
      refresher,
      {
        workerId: this.workerId,
        failoverTimeMs: c.lease.failoverTimeMs,
        renewerIntervalMs: c.lease.renewerIntervalMs,
        takerIntervalMs: c.lease.takerIntervalMs,
        unownedLeasePollIntervalMs: c.lease.unownedLeasePollIntervalMs,
        maxLeasesForWorker: c.lease.maxLeasesForWorker,
        maxLeasesToStealAtOneTime: c.lease.maxLeasesToStealAtOneTime,
        enablePriorityLeaseAssignment: c.lease.enablePriorityLeaseAssignment,
        renewal: placeRenewals(
          this.rawConfig,
          { workerId: this.workerId, tableName: c.tableName, billingMode: c.lease.billingMode, requestTimeoutMs: c.lease.dynamoDbRequestTimeoutMs, failoverTimeMs: c.lease.failoverTimeMs, renewerIntervalMs: c.lease.renewerIntervalMs, metricsLevel: c.metrics.level },
          c.lease.renewInWorkerThread,
          accessFromClient(this.clients.dynamodb, this.rawConfig.clientConfig?.endpoints?.dynamodb),
        ),
        assignmentMode: () => this.assignmentMode,
        discoverer: new LeaseDiscoverer(refresher, this.workerId, childLogger(this.logger, { component: 'LeaseDiscoverer' }), this.metrics),
        leaseDiscoveryIntervalMs: c.kcl3.leaseDiscoveryIntervalMs,
      },
      this.logger,
      this.metrics,
      {
        leaseAcquired: (held) => this.startConsumer(held),
        leaseLost: (key) => this.onLeaseLost(key),
        handoffRequested: (key, newOwner) => this.handoffs?.enqueue(key, newOwner),
      },
    );
    // One checkpointer for every shard: it persists through the renewer, which holds the leases.
    this.checkpointer = new DynamoDBCheckpointer(this.coordinator.renewer);
    await this.coordinator.start(leases, this.abort.signal);
    if (this.abort.signal.aborted) return; // shut down during start-up: stopNow() stops what started
    new Periodic(() => this.periodicShardSync(), c.lease.shardSyncIntervalMs, this.abort.signal, (err) =>
      this.logger.warn(errorFields(err), 'Periodic shard sync failed; next round retries'),
    { initialDelayMs: c.lease.shardSyncIntervalMs });
    this.setState(WorkerState.STARTED);
    this.logger.info({ ...(this.multi ? { streams: this.multi.trackedRuntimes().map((r) => r.streamName) } : { stream: streamLabel(c.stream) }), table: c.tableName }, 'Worker started');
  }

  /**
   * The KCL 3.x parts (leader lock, lease assignment, worker metrics, graceful handoff) and the
   * client-version state machine that switches them on and off: at once for clientVersion '3.x'; once
   * the whole fleet is ready for 'compatible-with-2.x' (Java's migration, one `Migration3.0` item); and
   * when omitted, only once another worker started that migration.
   */
  private startKcl3(refresher: DynamoDBLeaseRefresher): void {
    const c = this.config;
    const signal = this.abort.signal;
    const client = this.clients!.dynamodb;
    const kcl3 = new Kcl3Components({
      client,
      tableName: c.tableName,
      requestTimeoutMs: c.lease.dynamoDbRequestTimeoutMs,
      signal,
      workerId: this.workerId,
      config: c.kcl3,
      logger: this.logger,
      metrics: this.metrics,
    });
    this.kcl3 = kcl3;
    kcl3.start();
    if (c.kcl3.assignment.isGracefulLeaseHandoffEnabled) {
      this.handoffs = new LeaseGracefulShutdownHandler(
        {
          consumerFor: (key) => this.consumers.get(key)?.consumer,
          handOver: (key, consumer) => this.handOver(key, consumer),
        },
        c.kcl3.assignment.gracefulLeaseHandoffTimeoutMillis,
        childLogger(this.logger, { component: 'LeaseGracefulShutdownHandler' }),
      );
    }
    const table = { client, tableName: c.tableName, requestTimeoutMs: c.lease.dynamoDbRequestTimeoutMs, abortSignal: signal };
    const runtime: MigrationRuntime = {
      setLeaseAssignmentMode: (mode) => {
        if (mode !== this.assignmentMode) this.logger.info({ from: this.assignmentMode, to: mode }, 'Lease assignment mode changes');
        this.assignmentMode = mode;
        kcl3.setLeaseAssignment(mode === '3.x');
        this.coordinator?.assignmentModeChanged();
      },
      setWorkerMetricsReporting: (on) => kcl3.setWorkerMetricsReporting(on),
      setLeaderDecider: (kind) => (this.leaderKind = kind),
      isLeader: () => this.isLeader(),
      loadAssignmentData: async () => {
        const data = await loadLeaseAssignmentData(table);
        return { leases: data.leases.map((l) => ({ leaseKey: l.leaseKey, ...(l.leaseOwner !== undefined ? { leaseOwner: l.leaseOwner } : {}) })), workerMetrics: data.workerMetrics };
      },
      createLeaseOwnerToLeaseKeyIndexIfNotExists: () => refresher.requestOwnerIndex({ abortSignal: signal }),
    };
    this.migration = new MigrationStateMachine({
      client: this.clients!.leaseTable,
      tableName: c.tableName,
      requestTimeoutMs: c.lease.dynamoDbRequestTimeoutMs,
      signal,
      workerId: this.workerId,
      config: c.kcl3.clientVersionConfig,
      runtime,
      logger: childLogger(this.logger, { component: 'MigrationStateMachine' }),
      metrics: this.metrics,
      monitorIntervalMs: c.coordinator.clientVersionMigration.monitorIntervalMs,
      readyStabilityMs: c.coordinator.clientVersionMigration.readyStabilityMs,
      workerMetricsExpiryMs: 2 * c.kcl3.sampling.reporterFrequencyMillis,
    });
  }

  /**
   * A Java 3.x fleet still on the pre-3.5 tables: joining it in 3.x mode would elect a second leader,
   * so start-up stops, naming the fix; in 2.x-compatible mode the worker stays on the 2.x protocol
   * (no migration state or worker metrics of its own in the lease table), as before 3.x existed.
   */
  private async checkCoordinatorStateLayout(): Promise<void> {
    if (!this.migration) return;
    const c = this.config;
    const coordinatorStateTable = `${c.applicationName}-CoordinatorState`;
    const layout = await detectCoordinatorStateLayout({
      client: this.clients!.leaseTable,
      leaseTable: c.tableName,
      coordinatorStateTable,
      requestTimeoutMs: c.lease.dynamoDbRequestTimeoutMs,
      signal: this.abort.signal,
    });
    if (layout === 'leaseTable') return;
    const message = legacyLayoutMessage(c.tableName, coordinatorStateTable);
    if (c.kcl3.clientVersion === '3.x') throw new LeaseTableModeError(message);
    this.logger.warn({ table: c.tableName, coordinatorStateTable }, `${message}. Running the 2.x protocol only: this worker takes no part in the fleet's migration to 3.x`);
    this.migration = undefined;
  }

  /** The end of a graceful handoff: the consumer is done (or told the lease is lost); the lease goes to its new owner. */
  private async handOver(key: string, consumer: ShardConsumer): Promise<void> {
    if (this.consumers.get(key)?.consumer === consumer) {
      this.consumers.delete(key);
      this.safeEmit('leaseLost', key);
    }
    await this.coordinator?.releaseLease(key);
  }

  /** The shard-sync leader: the 3.x leader lock holder, or Java 2.x's choice among the lease owners. */
  private async isLeader(): Promise<boolean> {
    if (!this.coordinator) return false;
    if (this.kcl3 && this.leaderKind === '3.x') return this.kcl3.isLeader();
    return isLeader(this.workerId, this.coordinator.taker.lastScan);
  }

  private async addMetricsSinks(clients: AwsClients): Promise<void> {
    const m = this.config.metrics;
    if (m.level === 'NONE') return;
    if (m.cloudWatch) this.metrics.addSink(new CloudWatchMetricsSink(await clients.cloudwatch(), this.config.applicationName));
    if (m.openTelemetry) this.metrics.addSink(await createOpenTelemetrySink(this.config.applicationName));
  }

  /**
   * Creates the lease table and runs the first shard sync, retrying as the Java KCL does; a cause no
   * retry can fix (region, credentials, access, a missing stream) fails at once, naming the fix.
   */
  private async initializeWithRetries(refresher: DynamoDBLeaseRefresher): Promise<Lease[] | undefined> {
    const { maxInitializationAttempts, initializationBackoffMs } = this.config.coordinator;
    let last: StartupFailure | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxInitializationAttempts && !this.abort.signal.aborted; attempt++) {
      try {
        // With the 3.x owner index from the start: 3.x needs it, and a 2.x fleet's migration waits for it.
        if (await refresher.createLeaseTableIfNotExists({ abortSignal: this.abort.signal }, { withOwnerIndex: true })) this.logger.info({ table: this.config.tableName }, 'Created lease table');
        await refresher.waitUntilLeaseTableExists(600000, this.abort.signal);
        if (this.config.kcl3.clientVersion === '3.x') await refresher.createOwnerIndexIfNotExists(600000, this.abort.signal);
        const leases = await this.initialSync(refresher);
        await this.checkCoordinatorStateLayout();
        await this.migration?.initialize();
        return leases;
      } catch (err) {
        if (this.abort.signal.aborted) return undefined;
        if (err instanceof LeaseTableModeError) throw err;
        lastError = err;
        last = classifyStartupError(err);
        if (!last.retriable) throw new InitializationError(last.message, { cause: err });
        this.logger.warn({ attempt, maxInitializationAttempts, ...errorFields(err) }, `Start-up attempt ${attempt} of ${maxInitializationAttempts} failed: ${last.message}`);
        if (attempt < maxInitializationAttempts) await sleep(initializationBackoffMs, this.abort.signal).catch(() => undefined);
      }
    }
    if (this.abort.signal.aborted) return undefined;
    throw new InitializationError(`${last?.message ?? `Could not initialize against ${this.multi ? 'the streams' : `stream ${streamLabel(this.config.stream)}`}`} (after ${maxInitializationAttempts} attempts)`, { cause: lastError });
  }

  /**
   * The table must hold leases of this worker's mode (checked before anything is created), then the
   * first sync: the stream's shards, or every listed stream's.
   */
  private async initialSync(refresher: DynamoDBLeaseRefresher): Promise<Lease[]> {
    const signal = this.abort.signal;
    const existing = await refresher.listLeases({ abortSignal: signal });
    assertLeaseTableMode(existing, this.multi !== undefined, this.config.tableName);
    if (this.single) return (await this.single.shardSync.syncShards(signal)).leases;
    await this.multi!.refreshStreams(signal);
    for (const runtime of this.multi!.trackedRuntimes()) await runtime.shardSync.syncShards(signal);
    return refresher.listLeases({ abortSignal: signal });
  }

  private async periodicShardSync(): Promise<void> {
    const signal = this.abort.signal;
    if (this.multi) {
      // A failing stream list (the application's function threw) must not stop the leader's round.
      await this.syncNewStreams(this.multi, signal).catch((err: unknown) => {
        if (!signal.aborted) this.logger.warn(errorFields(err), 'Could not refresh the stream list; next round retries');
      });
    }
    if (!this.coordinator || !(await this.isLeader())) return;
    if (this.single) await this.single.shardSync.syncAndCleanUp(signal);
    else await this.multi!.leaderRound(signal);
    this.coordinator.wakeTaker();
  }

  /** Any worker: streams listed for the first time get their leases now, not at the leader's next round. */
  private async syncNewStreams(multi: MultiStreamManager, signal: AbortSignal): Promise<void> {
    const added = await multi.refreshStreams(signal);
    for (const runtime of added) {
      try {
        await runtime.shardSync.syncShards(signal);
      } catch (err) {
        if (signal.aborted) return;
        runtime.logger.warn(errorFields(err), 'First shard sync of a new stream failed; the leader syncs it next round');
      }
    }
    if (added.length > 0) this.coordinator?.wakeTaker();
  }

  private startConsumer(held: HeldLease): void {
    const key = held.lease.leaseKey;
    if (this.abort.signal.aborted) return void this.coordinator?.renewer.drop(key); // never deliver after shutdown
    if (this.single) return this.startConsumerOn(this.single, held);
    this.multi!.runtimeForLease(key, this.abort.signal).then(
      (runtime) => {
        if (runtime) return this.startConsumerOn(runtime, held);
        // Held but not consumed: its stream is gone or was recreated, and the leader deletes such leases.
        this.logger.warn({ leaseKey: key }, 'Not consuming a lease whose stream no longer exists (deleted or recreated); the leader deletes it');
      },
      (err: unknown) => {
        if (this.abort.signal.aborted) return;
        this.logger.warn({ leaseKey: key, ...errorFields(err) }, 'Could not check the stream of a lease; letting the lease go to be taken again');
        this.coordinator?.renewer.drop(key);
      },
    );
  }

  private startConsumerOn(runtime: StreamRuntime, held: HeldLease): void {
    const key = held.lease.leaseKey;
    if (this.abort.signal.aborted) return void this.coordinator?.renewer.drop(key);
    if (this.coordinator?.renewer.getCurrentlyHeldLease(key)?.concurrencyToken !== held.concurrencyToken) return; // lost meanwhile
    const existing = this.consumers.get(key);
    if (existing && existing.held === held) return;
    existing?.consumer.leaseLost();
    const consumer = new ShardConsumer(runtime.shardView(structuredClone(held.lease)), held.concurrencyToken, { ...this.consumerContext(runtime, key), recordBytes: (bytes) => held.recordBytes(bytes) });
    this.consumers.set(key, { consumer, held });
    this.safeEmit('leaseAcquired', key);
    // A finished shard leaves the scheduler; its lease stays held (renewed, so no other worker re-runs
    // its end) until cleanup deletes it, which then is no lease loss to report.
    void consumer.done.then(() => {
      if (!consumer.endedShard) return;
      runtime.leaseCleanup?.enqueue(runtime.shardIdOf(key));
      if (this.consumers.get(key)?.consumer === consumer) this.consumers.delete(key);
    });
  }

  /** What one shard consumer sees of the worker: its stream's leases by shard id, the lease held by its full key. */
  private consumerContext(runtime: StreamRuntime, leaseKey: string): ShardConsumerContext {
    const c = this.config;
    const base = this.checkpointer!;
    const checkpointer: Checkpointer =
      runtime.identifier === undefined
        ? base
        : {
            setCheckpoint: (shardId, checkpoint, token) => base.setCheckpoint(runtime.leaseKeyOf(shardId), checkpoint, token),
            prepareCheckpoint: (shardId, pending, token) => base.prepareCheckpoint(runtime.leaseKeyOf(shardId), pending, token),
          };
    return {
      streamName: runtime.streamName,
      ...(runtime.streamArn ? { streamArn: runtime.streamArn } : {}),
      processorFactory: c.processorFactory,
      getLease: (shardId) => runtime.leases.getLease(shardId),
      checkpointer,
      createPublisher: (start, lease, hooks) => runtime.createPublisher(lease, start, hooks),
      isLeaseHeld: (token) => this.coordinator?.renewer.getCurrentlyHeldLease(leaseKey)?.concurrencyToken === token,
      onShardEnd: async (lease, childShards) => {
        await runtime.shardSync.createChildLeases(lease, childShards);
        this.coordinator?.wakeTaker();
      },
      resolveMissingParents: async (child, missing) => {
        const done = await runtime.shardSync.resolveMissingParents(child, missing, this.abort.signal);
        if (done.length < missing.length) this.coordinator?.wakeTaker();
        return done;
      },
      parentShardPollIntervalMs: c.coordinator.parentShardPollIntervalMs,
      taskBackoffTimeMs: c.lifecycle.taskBackoffTimeMs,
      callProcessRecordsEvenForEmptyRecordList: c.processor.callProcessRecordsEvenForEmptyRecordList,
      onProcessRecordsError: c.processor.onProcessRecordsError,
      logger: childLogger(runtime.logger, { component: 'ShardConsumer', shardId: runtime.shardIdOf(leaseKey) }),
      metrics: runtime.metrics,
      reportError: (err) => this.reportError(err, leaseKey),
      reportShardEnded: () => this.safeEmit('shardEnded', leaseKey),
    };
  }

  private onLeaseLost(key: string): void {
    const entry = this.consumers.get(key);
    if (!entry) return;
    this.consumers.delete(key);
    entry.consumer.leaseLost();
    this.safeEmit('leaseLost', key);
  }

  /**
   * Gives one held lease up now: its processor gets leaseLost (after the call in progress) and the lease
   * is released in DynamoDB, so a worker (this one included) takes it at its next round and resumes at
   * the checkpoint. For a processor that cannot go on, e.g. a MultiLang child that died. Call it without
   * awaiting from inside a processor method. Resolves false when the lease was not held.
   */
  async releaseLease(shardId: string): Promise<boolean> {
    const entry = this.consumers.get(shardId);
    if (!entry || !this.coordinator) return false;
    this.consumers.delete(shardId);
    entry.consumer.leaseLost();
    this.safeEmit('leaseLost', shardId);
    return this.coordinator.releaseLease(shardId);
  }

  private reportError(err: unknown, shardId: string): void {
    const error = (err instanceof Error ? err : new Error(String(err))) as Error & { shardId?: string };
    error.shardId ??= shardId;
    this.safeEmit('error', error);
  }

  /** Listeners run detached from the lease loops: a throwing listener is logged, never thrown here. */
  private safeEmit<K extends keyof SchedulerEvents>(event: K, ...args: SchedulerEvents[K]): void {
    if (event === 'error' && this.listenerCount('error') === 0) return; // an unheard 'error' must not throw
    try {
      (this.emit as (e: K, ...a: SchedulerEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.warn({ event, ...errorFields(err) }, 'A Scheduler event listener threw');
    }
  }

  /** Async listeners that reject end up here (captureRejections), not as unhandled rejections. */
  [Symbol.for('nodejs.rejection')](err: unknown, event: string): void {
    this.logger.warn({ event, ...errorFields(err) }, 'A Scheduler event listener rejected');
  }

  /**
   * Graceful shutdown: stops taking leases, calls shutdownRequested on every processor (which may
   * checkpoint), then releases the leases in DynamoDB so other workers take them at once. Resolves
   * true when every processor finished in time. Idempotent.
   */
  startGracefulShutdown(): Promise<boolean> {
    this.gracefulPromise ??= this.gracefulShutdown();
    return this.gracefulPromise;
  }

  private async gracefulShutdown(): Promise<boolean> {
    if (this.state === WorkerState.SHUT_DOWN) return true;
    this.setState(WorkerState.SHUT_DOWN_STARTED);
    // A taker round in progress finishes first: what it takes gets shutdownRequested and is released too.
    await this.coordinator?.stopTaking();
    const entries = [...this.consumers.entries()];
    const withoutConsumer = (this.coordinator?.renewer.heldLeases() ?? []).map((h) => h.lease.leaseKey).filter((k) => !this.consumers.has(k));
    const timeoutMs = this.config.coordinator.gracefulShutdownTimeoutMs;
    // Each processor gets shutdownRequested and may checkpoint; then its lease is released.
    const finished = Promise.all(
      entries.map(async ([key, { consumer }]) => {
        await consumer.requestShutdown();
        await consumer.done;
        this.consumers.delete(key);
        await this.releaseOrDrop(key);
      }),
    ).then(() => Promise.all(withoutConsumer.map((key) => this.releaseOrDrop(key)))); // finished shards' leases
    const allDone = await settlesWithin(finished, timeoutMs);
    if (!allDone) this.logger.warn({ timeoutMs }, 'Graceful shutdown timed out; stopping the remaining processors');
    // The leader lock given up (another worker leads at once) and this worker's metrics item deleted.
    await Promise.all([this.migration?.stop(), this.kcl3?.stop(true)]);
    await this.shutdown();
    return allDone;
  }

  private async releaseOrDrop(key: string): Promise<void> {
    if (!this.coordinator) return;
    if (this.config.lease.releaseLeasesOnShutdown) await this.coordinator.releaseLease(key);
    else this.coordinator.renewer.drop(key);
  }

  /** Stops now: leases are dropped locally (they expire for other workers) and processors get leaseLost. Idempotent. */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.stopNow();
    return this.shutdownPromise;
  }

  private async stopNow(): Promise<void> {
    if (this.state !== WorkerState.SHUT_DOWN_STARTED) this.setState(WorkerState.SHUT_DOWN_STARTED);
    this.abort.abort();
    // Start-up sees the abort at its next step (every call it makes takes the signal): wait for it, so
    // nothing it was still doing starts a consumer or a loop after this point.
    await this.startPromise?.catch(() => undefined);
    await this.coordinator?.stop().catch((err: unknown) => this.logger.warn(errorFields(err), 'Stopping the lease coordinator failed'));
    await this.migration?.stop();
    await this.kcl3?.stop();
    const entries = [...this.consumers.values()];
    this.consumers.clear();
    for (const { consumer } of entries) consumer.leaseLost();
    // A processor that never returns must not hold the worker forever.
    await settlesWithin(Promise.all(entries.map((e) => e.consumer.done)), this.config.coordinator.gracefulShutdownTimeoutMs);
    await this.teardown();
    this.setState(WorkerState.SHUT_DOWN);
    this.logger.info('Worker shut down');
    this.stopped();
  }

  /** Every cleanup step runs even when an earlier one fails. */
  private async teardown(): Promise<void> {
    await this.metrics.close().catch(() => undefined);
    try {
      this.clients?.destroy();
    } catch (err) {
      this.logger.warn(errorFields(err), 'Destroying AWS clients failed');
    }
  }
}
