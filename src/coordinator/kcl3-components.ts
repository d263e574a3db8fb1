import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { childLogger, errorFields, type Logger } from '../common/logger.ts';
import { Periodic } from '../common/periodic.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ResolvedKcl3Config } from '../assignment/kcl3-config.ts';
import { LeaseAssignmentManager } from '../assignment/lease-assignment-manager.ts';
import { DynamoDBLockClient } from '../leader/dynamodb-lock-client.ts';
import { DynamoDBLockBasedLeaderDecider } from '../leader/dynamodb-lock-based-leader-decider.ts';
import { selectCpuWorkerMetric } from '../workermetrics/cpu-worker-metric.ts';
import { WorkerMetricStatsManager } from '../workermetrics/worker-metric-stats-manager.ts';
import { WorkerMetricStatsReporter } from '../workermetrics/worker-metric-stats-reporter.ts';
import { deleteWorkerMetricStats } from '../workermetrics/worker-metric-stats-dao.ts';

export interface Kcl3ComponentsOptions {
  client: DynamoDBClient;
  /** The lease table: since KCL 3.5 the leader lock and the workers' metrics live in it too. */
  tableName: string;
  requestTimeoutMs: number;
  signal: AbortSignal;
  workerId: string;
  config: ResolvedKcl3Config;
  logger: Logger;
  metrics: Metrics;
}

/**
 * What a KCL 3.x worker runs besides its leases (Java DynamicMigrationComponentsInitializer): the
 * lock-based leader, the leader's LeaseAssignmentManager, and the WorkerMetricStats reporter the
 * leader balances by. Each part can be switched on and off while the worker runs, as a client-version
 * migration needs.
 */
export class Kcl3Components {
  readonly leaderDecider: DynamoDBLockBasedLeaderDecider;
  private readonly assignment: LeaseAssignmentManager;
  private readonly sampler: WorkerMetricStatsManager | undefined;
  private readonly reporter: WorkerMetricStatsReporter | undefined;
  private assignmentLoop: Periodic | undefined;
  private reporting = false;
  /** The lock's own: the worker's abort must not cut the lock's release at shutdown short. */
  private readonly lockStop = new AbortController();

  constructor(private readonly options: Kcl3ComponentsOptions) {
    const { client, tableName, requestTimeoutMs, signal, workerId, config, logger, metrics } = options;
    const lock = new DynamoDBLockClient({
      client,
      tableName,
      partitionKeyName: 'leaseKey',
      ownerName: workerId,
      leaseDurationMillis: config.leaderLock.leaseDurationMs,
      heartbeatPeriodMillis: config.leaderLock.heartbeatPeriodMs,
      requestTimeoutMillis: requestTimeoutMs,
      signal: this.lockStop.signal,
      logger: childLogger(logger, { component: 'LeaderLock' }),
    });
    this.leaderDecider = new DynamoDBLockBasedLeaderDecider(lock, config.leaderLock.heartbeatPeriodMs, childLogger(logger, { component: 'LeaderDecider' }));
    const table = { client, tableName, requestTimeoutMs, abortSignal: signal };
    this.assignment = new LeaseAssignmentManager(table, config.assignment, () => this.isLeader(), childLogger(logger, { component: 'LeaseAssignmentManager' }), metrics, workerId);
    // Java selects metrics only when none are given and they are not disabled; without any it still
    // publishes the item (empty maps): the leader counts the worker live and balances it by throughput.
    const reporterLogger = childLogger(logger, { component: 'WorkerMetricStatsReporter' });
    this.sampler = new WorkerMetricStatsManager(config.workerMetrics ?? (config.disableWorkerMetrics ? [] : [selectCpuWorkerMetric()]), config.sampling, (m, err) =>
      reporterLogger.debug({ metric: m.shortName, ...errorFields(err) }, 'A worker metric could not be captured'),
    );
    this.reporter = new WorkerMetricStatsReporter({ workerId, manager: this.sampler, table: { ...table, form: 'leaseTable' }, sampling: config.sampling, logger: reporterLogger });
  }

  /** Whether this worker holds the leader lock (tries to take it when free or expired). */
  async isLeader(): Promise<boolean> {
    try {
      return await this.leaderDecider.isLeader();
    } catch (err) {
      if (!this.options.signal.aborted) this.options.logger.warn(errorFields(err), 'Could not check the leader lock; not leading this round');
      return false;
    }
  }

  /** Starts the lock heartbeats (for when this worker leads). */
  start(): void {
    this.leaderDecider.initialize();
  }

  /** The leader's assignment runs, every leaseAssignmentIntervalMs (3.x lease assignment mode). */
  setLeaseAssignment(on: boolean): void {
    if (on && !this.assignmentLoop) {
      this.assignmentLoop = new Periodic(() => this.assignment.runOnce(), this.options.config.leaseAssignmentIntervalMs, this.options.signal, (err) =>
        this.options.logger.warn(errorFields(err), 'Lease assignment failed; next run retries'),
      );
    } else if (!on && this.assignmentLoop) {
      void this.assignmentLoop.stop();
      this.assignmentLoop = undefined;
    }
  }

  /** Publishing this worker's WorkerMetricStats item (3.x mode and the upgrade from 2.x). */
  setWorkerMetricsReporting(on: boolean): void {
    if (!this.sampler || !this.reporter || on === this.reporting) return;
    this.reporting = on;
    if (on) {
      this.sampler.start();
      this.reporter.start();
    } else {
      this.sampler.stop();
      void this.reporter.stop();
    }
  }

  /**
   * Stops every loop and gives the leader lock up, so another worker leads at once. A graceful stop
   * also deletes this worker's metrics item: the leader no longer counts it among the live workers.
   */
  async stop(graceful = false): Promise<void> {
    const reported = this.reporting;
    this.setLeaseAssignment(false);
    this.setWorkerMetricsReporting(false);
    const leaving = async (): Promise<void> => {
      await this.reporter?.stop(); // a report in flight must not bring the item back after the delete
      if (!graceful || !reported || !this.reporter) return;
      const { client, tableName, requestTimeoutMs, workerId, logger } = this.options;
      await deleteWorkerMetricStats({ client, tableName, requestTimeoutMs, form: 'leaseTable', abortSignal: this.lockStop.signal }, workerId).catch((err: unknown) =>
        logger.warn(errorFields(err), "Could not delete this worker's metrics item; the leader ignores it once it is stale"),
      );
    };
    await Promise.all([
      leaving(),
      this.leaderDecider.shutdown().catch((err: unknown) => this.options.logger.warn(errorFields(err), 'Could not give the leader lock up; it expires instead')),
    ]);
    this.lockStop.abort();
  }
}
