/** One aggregated metric: a CloudWatch StatisticSet for one name and set of dimensions. */
export interface MetricDatum {
  name: string;
  unit: 'Count' | 'Milliseconds' | 'Bytes' | 'None';
  dimensions: Record<string, string>;
  sum: number;
  min: number;
  max: number;
  count: number;
  timestamp: Date;
}

/**
 * Where metrics go: CloudWatch, OpenTelemetry, or a test's recording sink. `record` sees every
 * observation as it happens (for sinks that aggregate themselves, like OpenTelemetry); `publish`
 * gets the buffered StatisticSets every flush (for sinks that send batches, like CloudWatch).
 * Both are called detached from record processing; a sink that throws is logged, never rethrown.
 */
export interface MetricsSink {
  record?(datum: MetricDatum): void;
  publish?(data: MetricDatum[]): Promise<void> | void;
  close?(): Promise<void> | void;
}
