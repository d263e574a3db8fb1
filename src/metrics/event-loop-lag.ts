import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Metrics } from './metrics.ts';
import type { Logger } from '../common/logger.ts';

export interface EventLoopLagOptions {
  /** How often the worst delay is published and the histogram reset. */
  intervalMs: number;
  /** A WARN above this (a third of the failover time: longer blocks starve main-thread lease work). */
  warnAboveMs: number;
  dimensions?: Record<string, string>;
}

/**
 * Measures how late the main event loop runs (perf_hooks.monitorEventLoopDelay) and publishes the
 * worst delay of each interval as `Worker` / `EventLoopLag` (Milliseconds). A record processor that
 * computes synchronously delays every shard of the worker; this makes it visible and says so.
 */
export class EventLoopLagMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: EventLoopLagOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.histogram.enable();
    // Never keeps the process alive by itself.
    this.timer = setInterval(() => this.report(), this.options.intervalMs).unref();
  }

  /** Publishes the worst delay since the last report (and warns when it is too long); returns it in ms. */
  report(): number {
    const lagMs = this.histogram.count > 0 ? Math.round(this.histogram.max / 1e6) : 0;
    this.histogram.reset();
    this.metrics.scope('Worker', this.options.dimensions ?? {}).add('EventLoopLag', lagMs, 'Milliseconds', 'SUMMARY').end();
    if (lagMs > this.options.warnAboveMs) {
      this.logger.warn(
        { eventLoopLagMs: lagMs, warnAboveMs: this.options.warnAboveMs },
        `The event loop was blocked for ${lagMs} ms: a record processor is blocking the event loop: move CPU work off it (a worker thread, or yield between chunks)`,
      );
    }
    return lagMs;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram.disable();
  }
}
