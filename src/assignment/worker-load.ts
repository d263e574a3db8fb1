import type { WorkerMetricStats } from '../workermetrics/worker-metric-stats.ts';

/**
 * One active worker's metrics during a single assignment run (the Java WorkerMetricStats object
 * with its runtime `metricStatsMap`): an EMA of each reported series, extrapolated in memory as
 * the leader gives the worker more throughput. Built fresh every run; never written back.
 */
export class WorkerLoad {
  readonly workerId: string;
  metricStats: Record<string, readonly number[]>;
  operatingRange: Record<string, readonly number[]>;
  emaAlpha = 0.2;
  /** metricStatsMap: filled lazily by getMetricStat, then extrapolated (only the names computed so far). */
  private readonly averages = new Map<string, number>();

  constructor(stats: WorkerMetricStats) {
    this.workerId = stats.workerId;
    this.metricStats = stats.metricStats ?? {};
    this.operatingRange = stats.operatingRange ?? {};
  }

  containsMetricStat(name: string): boolean {
    return Object.hasOwn(this.metricStats, name);
  }

  metricNames(): string[] {
    return Object.keys(this.metricStats);
  }

  getMetricStat(name: string): number {
    let value = this.averages.get(name);
    if (value === undefined) {
      value = this.computeAverage(this.metricStats[name] ?? []);
      this.averages.set(name, value);
    }
    return value;
  }

  /** Exponential moving average of the reported values, skipping -1 (a capture that failed). */
  private computeAverage(values: readonly number[]): number {
    let average: number | undefined;
    for (const v of values) {
      if (v === -1) continue;
      average = average === undefined ? v : this.emaAlpha * v + (1 - this.emaAlpha) * average;
    }
    return average ?? 0;
  }

  /** Load added by `increaseThroughput` KBps: its share of the fleet average (or 1/targetLeases of it with no throughput data). */
  private extrapolate(name: string, fleetAverage: number, averageThroughput: number, increaseThroughput: number, averageLeaseCount: number): number {
    const current = this.averages.get(name) ?? Number.NaN;
    if (averageThroughput > 0) return current + (increaseThroughput * fleetAverage) / averageThroughput;
    return current + fleetAverage / averageLeaseCount;
  }

  extrapolateMetricStatValuesForAddedThroughput(fleetAverages: ReadonlyMap<string, number>, averageThroughput: number, increaseThroughput: number, averageLeaseCount: number): void {
    for (const name of [...this.averages.keys()]) {
      this.averages.set(name, this.extrapolate(name, fleetAverages.get(name) ?? Number.NaN, averageThroughput, increaseThroughput, averageLeaseCount));
    }
  }

  willAnyMetricStatsGoAboveAverageUtilizationOrOperatingRange(fleetAverages: ReadonlyMap<string, number>, averageThroughput: number, increaseThroughput: number, averageLeaseCount: number): boolean {
    for (const name of this.metricNames()) {
      const fleetAverage = fleetAverages.get(name) ?? Number.NaN;
      const toBe = this.extrapolate(name, fleetAverage, averageThroughput, increaseThroughput, averageLeaseCount);
      if (toBe > fleetAverage || toBe > (this.operatingRange[name]?.[0] ?? Number.NaN)) return true;
    }
    return false;
  }

  /** How much more load (as a fraction of its current load) the worker can take before its nearest metric reaches the fleet average. */
  computePercentageToReachAverage(fleetAverages: ReadonlyMap<string, number>): number {
    let min = Number.MAX_VALUE;
    for (const name of this.metricNames()) {
      const value = this.getMetricStat(name);
      const ratio = value === 0 ? 1 : ((fleetAverages.get(name) ?? Number.NaN) - value) / value;
      min = Math.min(min, ratio);
    }
    return min;
  }

  isWorkerMetricAboveOperatingRange(name: string): boolean {
    const value = this.averages.get(name);
    return value !== undefined && value > (this.operatingRange[name]?.[0] ?? Number.NaN);
  }

  /** The computed (and extrapolated) averages, for logs and tests. */
  metricStatsMap(): ReadonlyMap<string, number> {
    return this.averages;
  }
}
