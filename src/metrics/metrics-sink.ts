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

/** Where metrics go: CloudWatch, OpenTelemetry, or a test's recording sink. */
export interface MetricsSink {
  publish(data: MetricDatum[]): Promise<void> | void;
  close?(): Promise<void> | void;
}
