// Public API of ts-kcl. Everything a user imports comes from here.
export { Scheduler, WorkerState, type SchedulerEvents } from './coordinator/scheduler.ts';
export type { SchedulerConfig, InitialPosition, PollingRetrievalConfig, FanOutRetrievalConfig, Kcl3LeaseOptions, WorkerUtilizationAwareAssignmentOptions } from './config.ts';
export type { ClientVersionOption } from './assignment/kcl3-config.ts';
export type { LeaseAssignmentStrategy } from './assignment/lease-assignment-decisions.ts';
export { ProcessCpuWorkerMetric, type WorkerMetric, type Millis } from './workermetrics/cpu-worker-metric.ts';
export type { StreamConfig } from './multistream/stream-tracker.ts';
export type { FormerStreamsLeasesDeletionStrategy } from './multistream/former-streams.ts';
export type {
  ShardRecordProcessor,
  ShardRecordProcessorFactory,
  InitializationInput,
  ProcessRecordsInput,
  LeaseLostInput,
  ShardEndedInput,
  ShutdownRequestedInput,
  ChildShard,
} from './processor/shard-record-processor.ts';
export type { RecordProcessorCheckpointer, PreparedCheckpointer } from './checkpoint/checkpointer.ts';
export type { KinesisClientRecord } from './retrieval/kinesis-client-record.ts';
export { SentinelCheckpoint, compareExtended, type ExtendedSequenceNumber } from './retrieval/extended-sequence-number.ts';
export {
  KclError,
  ShutdownException,
  InvalidStateException,
  ThrottlingException,
  KinesisClientLibDependencyException,
  IllegalArgumentError,
  InitializationError,
  ResourceNotFoundError,
} from './errors.ts';
export {
  deaggregate,
  aggregate,
  type AggregateInput,
  type AggregateOptions,
  type AggregatedRecord,
  type DeaggregateInput,
  type HashKeyRange,
} from './retrieval/aggregation/index.ts';
export { EventStreamHttp2Handler } from './common/event-stream-http2-handler.ts';
export { MetricsLevel } from './metrics/metrics-level.ts';
export type { MetricDatum, MetricsSink } from './metrics/metrics-sink.ts';
export { CloudWatchMetricsSink, type CloudWatchClientLike } from './metrics/cloudwatch-sink.ts';
export { OpenTelemetryMetricsSink, type OpenTelemetryApi } from './metrics/opentelemetry-sink.ts';
export type { Logger, LogFn } from './common/logger.ts';
export { consoleLogger, silentLogger, stderrLogger } from './common/logger.ts';
