/** The Java KCL's metrics levels: NONE emits nothing, SUMMARY the headline figures, DETAILED everything. */
export const MetricsLevel = {
  /** No metrics at all. */
  NONE: 'NONE',
  /** The headline metrics only. */
  SUMMARY: 'SUMMARY',
  /** Every metric (the Java default). */
  DETAILED: 'DETAILED',
} as const;
/** One of the metrics levels. */
export type MetricsLevel = (typeof MetricsLevel)[keyof typeof MetricsLevel];

const RANK: Record<MetricsLevel, number> = { NONE: 0, SUMMARY: 1, DETAILED: 2 };

/** True when a metric of `metricLevel` is emitted under the configured level. */
export const isLevelEnabled = (configured: MetricsLevel, metricLevel: Exclude<MetricsLevel, 'NONE'>): boolean =>
  RANK[configured] >= RANK[metricLevel];
