import type { MetricDatum as CloudWatchDatum } from '@aws-sdk/client-cloudwatch';
import { loadCloudWatch } from '../common/clients.ts';
import type { MetricDatum, MetricsSink } from './metrics-sink.ts';

/**
 * The part of a CloudWatch client ts-kcl uses; every `CloudWatchClient` of `@aws-sdk/client-cloudwatch`
 * fits. Structural, so the public types compile in apps without that optional package installed.
 */
export interface CloudWatchClientLike {
  /** Sends one command (here: PutMetricData) with an abort signal. */
  send(command: object, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/** PutMetricData accepts up to 1000 data per call; half of that keeps requests well under 1 MB. */
const BATCH = 500;

/**
 * Sends StatisticSets to CloudWatch under the application's namespace, in batches, each call bounded
 * by a timeout so a slow CloudWatch never holds a flush (Java: 5 s).
 */
export class CloudWatchMetricsSink implements MetricsSink {
  /**
   * Creates a sink for one namespace.
   * @param client - a `CloudWatchClient`, borrowed (never destroyed here).
   * @param namespace - the CloudWatch namespace (the Scheduler passes `applicationName`).
   * @param timeoutMs - the deadline of each PutMetricData call.
   */
  constructor(
    private readonly client: CloudWatchClientLike,
    private readonly namespace: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** Sends the data in batches of 500 per PutMetricData call. */
  async publish(data: MetricDatum[]): Promise<void> {
    // Loaded here, not at import: the CloudWatch client is an optional peer dependency.
    const { PutMetricDataCommand } = await loadCloudWatch();
    for (let i = 0; i < data.length; i += BATCH) {
      await this.client.send(
        new PutMetricDataCommand({ Namespace: this.namespace, MetricData: data.slice(i, i + BATCH).map(toCloudWatch) }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
    }
  }
}

function toCloudWatch(d: MetricDatum): CloudWatchDatum {
  return {
    MetricName: d.name,
    Dimensions: Object.entries(d.dimensions).map(([Name, Value]) => ({ Name, Value })),
    StatisticValues: { SampleCount: d.count, Sum: d.sum, Minimum: d.min, Maximum: d.max },
    Unit: d.unit,
    Timestamp: d.timestamp,
  };
}
