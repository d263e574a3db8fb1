import type { Metrics } from './metrics.ts';
import type { Logger } from '../common/logger.ts';

export interface EventLoopLagOptions {
  /** How often the worst delay is published. */
  intervalMs: number;
  /** A WARN above this (a third of the failover time: longer blocks starve main-thread lease work). */
  warnAboveMs: number;
  dimensions?: Record<string, string>;
}

/** How often the loop is probed; a block shows as this probe running late. */
const PROBE_MS = 50;

/**
 * Measures how late the main event loop runs and publishes the worst delay of each interval as
 * `Worker` / `EventLoopLag` (Milliseconds). A record processor that computes synchronously delays
 * every shard of the worker; this makes it visible and says so. One timer both measures and reports,
 * measuring first, so a block is never reset away before it is counted (perf_hooks'
 * monitorEventLoopDelay drops the sample pending across a reset).
 */
export class EventLoopLagMonitor {
  private timer: NodeJS.Timeout | undefined;
  private worstMs = 0;
  private lastProbe = 0;
  private lastReport = 0;

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: EventLoopLagOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.lastProbe = this.lastReport = performance.now();
    // Never keeps the process alive by itself.
    this.timer = setInterval(() => this.probe(), PROBE_MS).unref();
  }

  private probe(): void {
    const now = performance.now();
    this.worstMs = Math.max(this.worstMs, now - this.lastProbe - PROBE_MS);
    this.lastProbe = now;
    if (now - this.lastReport >= this.options.intervalMs) this.report();
  }

  /** Publishes the worst delay since the last report (and warns when it is too long); returns it in ms. */
  report(): number {
    const lagMs = Math.max(0, Math.round(this.worstMs));
    this.worstMs = 0;
    this.lastReport = performance.now();
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
  }
}
