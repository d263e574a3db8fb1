import { javaAverage } from '../common/java-collections.ts';
import type { WorkerMetric } from './cpu-worker-metric.ts';
import { WORKER_SUPPORT_CODE, type WorkerMetricStats } from './worker-metric-stats.ts';

/** Java KCL 3.x WorkerUtilizationAwareAssignmentConfig figures the sampler uses. */
export interface WorkerMetricsSamplingConfig {
  /** inMemoryWorkerMetricsCaptureFrequencyMillis */
  captureFrequencyMillis: number;
  /** workerMetricsReporterFreqInMillis */
  reporterFrequencyMillis: number;
  /** noOfPersistedMetricsPerWorkerMetrics */
  persistedValuesPerMetric: number;
}

export const DEFAULT_WORKER_METRICS_SAMPLING: Readonly<WorkerMetricsSamplingConfig> = Object.freeze({
  captureFrequencyMillis: 1000,
  reporterFrequencyMillis: 30000,
  persistedValuesPerMetric: 10,
});

/** 1 sample a second keeps 5 minutes, more than any reporter period needs (Java HIGH_FREQUENCY_STATS_COUNT). */
const RAW_SAMPLES_KEPT = 300;

/** BigDecimal.valueOf(v).setScale(6, HALF_UP).doubleValue(): rounds the shortest decimal form of v. */
export function roundHalfUp6(v: number): number {
  if (!Number.isFinite(v)) return v;
  const [mantissa, exp] = Math.abs(v).toExponential().split('e');
  const digits = mantissa!.replace('.', '');
  const shift = Number(exp) - (digits.length - 1) + 6;
  let scaled: bigint;
  if (shift >= 0) scaled = BigInt(digits) * 10n ** BigInt(shift);
  else {
    const keep = digits.length + shift;
    scaled = keep > 0 ? BigInt(digits.slice(0, keep)) : 0n;
    const firstDropped = keep >= 0 ? Number(digits[keep] ?? '0') : 0;
    if (firstDropped >= 5) scaled += 1n;
  }
  const out = Number.parseFloat(`${scaled}e-6`);
  return v < 0 ? -out : out;
}

/** A bounded FIFO that drops its oldest element when full (Guava EvictingQueue). */
function pushEvicting(queue: number[], value: number, capacity: number): void {
  queue.push(value);
  if (queue.length > capacity) queue.splice(0, queue.length - capacity);
}

/**
 * Java WorkerMetricStatsManager: samples each metric every second in memory; at each report the
 * samples since the last report become one value (their mean, 6 decimals; -1 when every capture
 * failed) appended to the last N values that are published. The leader, not the worker, applies
 * the EMA (workerMetricsEMAAlpha) when it reads them.
 */
export class WorkerMetricStatsManager {
  private readonly raw = new Map<WorkerMetric, number[]>();
  private readonly computed = new Map<WorkerMetric, number[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: readonly WorkerMetric[],
    private readonly config: WorkerMetricsSamplingConfig = DEFAULT_WORKER_METRICS_SAMPLING,
    private readonly onCaptureFailure: (metric: WorkerMetric, err: unknown) => void = () => {},
  ) {
    for (const m of metrics) {
      this.raw.set(m, []);
      this.computed.set(m, []);
    }
  }

  /** One capture round (the 1 s tick); a failing metric records nothing for this second. */
  captureOnce(): void {
    for (const m of this.metrics) {
      try {
        pushEvicting(this.raw.get(m)!, m.capture(), RAW_SAMPLES_KEPT);
      } catch (err) {
        this.onCaptureFailure(m, err);
      }
    }
  }

  /** Captures every captureFrequencyMillis after a random jitter (spreads the fleet's reads); never keeps the process alive. */
  start(random: () => number = Math.random): void {
    if (this.timer !== undefined) return;
    const tick = (): void => {
      this.captureOnce();
      this.timer = setTimeout(tick, this.config.captureFrequencyMillis).unref();
    };
    this.timer = setTimeout(tick, Math.floor(random() * this.config.captureFrequencyMillis)).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** computeMetrics: drain the samples into one value per metric; returns the last N per short name. */
  computeMetrics(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const m of this.metrics) {
      const samples = this.raw.get(m)!.splice(0);
      const values = this.computed.get(m)!;
      const mean = javaAverage(samples);
      pushEvicting(values, mean === undefined ? -1 : roundHalfUp6(mean), this.config.persistedValuesPerMetric);
      out[m.shortName] = [...values];
    }
    return out;
  }

  getOperatingRange(): Record<string, number[]> {
    return Object.fromEntries(this.metrics.map((m) => [m.shortName, [m.maxUtilization]]));
  }

  /** The item WorkerMetricStatsReporter writes every reporter period. */
  report(workerId: string, nowEpochMillis: number): WorkerMetricStats {
    const seconds = Math.floor(nowEpochMillis / 1000);
    return {
      workerId,
      metricStats: this.computeMetrics(),
      operatingRange: this.getOperatingRange(),
      lastUpdateTime: seconds,
      supportCode: WORKER_SUPPORT_CODE,
      supportCodeUpdateEpochSeconds: seconds,
    };
  }
}
