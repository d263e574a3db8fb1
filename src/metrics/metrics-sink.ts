/** One aggregated metric: a CloudWatch StatisticSet for one name and set of dimensions. */
export interface MetricDatum {
  /** The Java KCL metric name, e.g. `RecordsProcessed`. */
  name: string;
  /** The CloudWatch unit. */
  unit: 'Count' | 'Milliseconds' | 'Bytes' | 'None';
  /** `Operation` always; `ShardId` and `WorkerIdentifier` where they apply. */
  dimensions: Record<string, string>;
  /** Sum of the observations. */
  sum: number;
  /** Smallest observation. */
  min: number;
  /** Largest observation. */
  max: number;
  /** Number of observations. */
  count: number;
  /** When the (first) observation was made. */
  timestamp: Date;
}

/**
 * Where metrics go: CloudWatch, OpenTelemetry, or a test's recording sink. `record` sees every
 * observation as it happens (for sinks that aggregate themselves, like OpenTelemetry); `publish`
 * gets the buffered StatisticSets every flush (for sinks that send batches, like CloudWatch).
 * Both are called detached from record processing; a sink that throws is logged, never rethrown.
 */
export interface MetricsSink {
  /** Sees each observation as it is made (count 1). */
  record?(datum: MetricDatum): void;
  /** Gets the buffered StatisticSets every `metrics.bufferTimeMs`. */
  publish?(data: MetricDatum[]): Promise<void> | void;
  /** Called once when the worker shuts down, after the last publish. */
  close?(): Promise<void> | void;
}
