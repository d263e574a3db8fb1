import { isLevelEnabled, type MetricsLevel } from './metrics-level.ts';
import type { MetricDatum, MetricsSink } from './metrics-sink.ts';
import { errorFields, type Logger } from '../common/logger.ts';

type Unit = MetricDatum['unit'];
type Level = Exclude<MetricsLevel, 'NONE'>;

/**
 * The metrics of one operation run (Java's MetricsScope): every datum gets the `Operation` dimension
 * plus the scope's own (ShardId, WorkerIdentifier). Nothing is sent until `end()`.
 */
export class MetricsScope {
  private readonly data: MetricDatum[] = [];
  constructor(
    private readonly metrics: Metrics,
    private readonly dimensions: Record<string, string>,
  ) {}

  add(name: string, value: number, unit: Unit, level: Level = 'DETAILED'): this {
    if (!this.metrics.enabled(level)) return this;
    this.data.push({ name, unit, dimensions: this.dimensions, sum: value, min: value, max: value, count: 1, timestamp: new Date() });
    return this;
  }

  /** `<name>.Success` and `<name>.Time`, or plain `Success`/`Time` for the whole operation. */
  addSuccessAndLatency(name: string | undefined, success: boolean, startMs: number, level: Level = 'DETAILED'): this {
    const prefix = name === undefined ? '' : `${name}.`;
    this.add(`${prefix}Success`, success ? 1 : 0, 'Count', level);
    return this.add(`${prefix}Time`, performance.now() - startMs, 'Milliseconds', level);
  }

  end(): void {
    if (this.data.length > 0) this.metrics.enqueue(this.data);
  }
}

/**
 * Buffers data as StatisticSets per name and dimensions, flushes them to the sinks every
 * `bufferTimeMs` or at 200 distinct series, never blocks the caller, and drops (with one warning)
 * rather than growing past `maxQueueSize`.
 */
export class Metrics {
  private readonly buffer = new Map<string, MetricDatum>();
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private recordFailures = 0;
  /** Only sinks with `publish` need the StatisticSet buffer. */
  private batching: boolean;

  constructor(
    private readonly level: MetricsLevel,
    private readonly sinks: MetricsSink[],
    private readonly logger: Logger,
    private readonly bufferTimeMs = 10000,
    private readonly maxQueueSize = 10000,
  ) {
    this.batching = sinks.some((s) => typeof s.publish === 'function');
  }

  /** Adds a sink after construction (sinks that load asynchronously, like OpenTelemetry). */
  addSink(sink: MetricsSink): void {
    this.sinks.push(sink);
    this.batching ||= typeof sink.publish === 'function';
  }

  enabled(level: Level): boolean {
    return this.sinks.length > 0 && isLevelEnabled(this.level, level);
  }

  scope(operation: string, dimensions: Record<string, string> = {}): MetricsScope {
    return new MetricsScope(this, { Operation: operation, ...dimensions });
  }

  /** The same metrics with `dimensions` added to every scope (StreamId in multi-stream mode). */
  withDimensions(dimensions: Record<string, string>): Metrics {
    const scope = (operation: string, extra: Record<string, string> = {}): MetricsScope => this.scope(operation, { ...dimensions, ...extra });
    return new Proxy(this, {
      get: (target, prop) => {
        if (prop === 'scope') return scope;
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  enqueue(data: MetricDatum[]): void {
    for (const sink of this.sinks) if (sink.record) for (const d of data) this.recordSafely(sink, d);
    if (!this.batching) return;
    for (const d of data) this.merge(d);
    // flush() never rejects: sink failures are logged inside it.
    if (this.buffer.size >= 200) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.bufferTimeMs).unref();
  }

  private recordSafely(sink: MetricsSink, d: MetricDatum): void {
    try {
      sink.record!(d);
    } catch (err) {
      if (this.recordFailures++ === 0) this.logger.warn(errorFields(err), 'A metrics sink failed to record; further failures are not logged');
    }
  }

  private merge(d: MetricDatum): void {
    const key = `${d.name}\u0000${JSON.stringify(d.dimensions)}`;
    const seen = this.buffer.get(key);
    if (seen) {
      seen.sum += d.sum;
      seen.count += d.count;
      seen.min = Math.min(seen.min, d.min);
      seen.max = Math.max(seen.max, d.max);
      return;
    }
    if (this.buffer.size >= this.maxQueueSize) {
      if (this.dropped++ === 0) this.logger.warn({ maxQueueSize: this.maxQueueSize }, 'Metrics buffer full: dropping data until the next flush');
      return;
    }
    this.buffer.set(key, { ...d });
  }

  /** Hands the buffer to every sink in the background; a failing sink is logged, never thrown. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.size === 0) return this.inFlight;
    const batch = [...this.buffer.values()];
    this.buffer.clear();
    this.dropped = 0;
    this.inFlight = Promise.all(
      this.sinks.map(async (sink) => {
        try {
          await sink.publish?.(batch);
        } catch (err) {
          this.logger.warn(errorFields(err), 'A metrics sink failed to publish; those data are dropped');
        }
      }),
    ).then(() => undefined);
    return this.inFlight;
  }

  async close(): Promise<void> {
    await this.flush();
    for (const sink of this.sinks) {
      try {
        await sink.close?.();
      } catch (err) {
        this.logger.warn(errorFields(err), 'A metrics sink failed to close');
      }
    }
  }
}
