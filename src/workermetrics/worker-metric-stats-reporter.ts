import { errorFields, stderrLogger, type Logger } from '../common/logger.ts';
import { updateWorkerMetricStats, type WorkerMetricStatsTable } from './worker-metric-stats-dao.ts';
import type { WorkerMetricStatsManager, WorkerMetricsSamplingConfig } from './worker-metric-stats-manager.ts';
import type { WorkerMetricStats } from './worker-metric-stats.ts';

export interface WorkerMetricStatsReporterOptions {
  workerId: string;
  manager: WorkerMetricStatsManager;
  table: WorkerMetricStatsTable;
  sampling: WorkerMetricsSamplingConfig;
  logger?: Logger;
  /** Wall clock (lut is epoch seconds). */
  now?: () => number;
}

/**
 * Java WorkerMetricStatsReporter as DynamicMigrationComponentsInitializer schedules it: first report
 * after two capture periods (some samples exist by then), then at a fixed rate of
 * workerMetricsReporterFreqInMillis. A failed report is logged and the next one comes on time.
 */
export class WorkerMetricStatsReporter {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: WorkerMetricStatsReporterOptions) {
    this.logger = options.logger ?? stderrLogger();
    this.now = options.now ?? Date.now;
  }

  /** One report: the manager's values since the last report, written with an UpdateItem. */
  async reportOnce(): Promise<WorkerMetricStats | undefined> {
    const stats = this.options.manager.report(this.options.workerId, this.now());
    // WorkerMetricStatsDAO.validateWorkerMetrics: never write a metric without values.
    if (Object.values(stats.metricStats ?? {}).some((v) => v.length === 0)) return undefined;
    try {
      await updateWorkerMetricStats(this.options.table, stats);
      return stats;
    } catch (err) {
      this.logger.warn({ ...errorFields(err), workerId: this.options.workerId }, 'Failed to update worker metric stats; the next report will try again');
      return undefined;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const { captureFrequencyMillis, reporterFrequencyMillis } = this.options.sampling;
    let next = performance.now() + 2 * captureFrequencyMillis;
    const tick = (): void => {
      this.inFlight = this.reportOnce().then(() => undefined);
      next += reporterFrequencyMillis; // fixed rate: the schedule does not drift with the write's latency
      if (this.running) this.timer = setTimeout(tick, Math.max(0, next - performance.now())).unref();
    };
    this.timer = setTimeout(tick, 2 * captureFrequencyMillis).unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.inFlight;
  }
}
