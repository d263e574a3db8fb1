import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { IllegalArgumentError } from './errors.ts';
import { stderrLogger, type Logger } from './common/logger.ts';
import type { ShardRecordProcessorFactory } from './processor/shard-record-processor.ts';
import type { MetricsLevel } from './metrics/metrics-level.ts';
import type { MetricsSink } from './metrics/metrics-sink.ts';
import type { StreamConfig, StreamsSource } from './multistream/stream-tracker.ts';
import type { FormerStreamsLeasesDeletionStrategy } from './multistream/former-streams.ts';
import type { CloudWatchClientLike } from './metrics/cloudwatch-sink.ts';
import { resolveKcl3Config, type ClientVersionOption, type ResolvedKcl3Config } from './assignment/kcl3-config.ts';
import type { LeaseAssignmentStrategy } from './assignment/lease-assignment-decisions.ts';
import type { WorkerMetric } from './workermetrics/cpu-worker-metric.ts';

/** Where a shard without a checkpoint starts: the oldest record, the newest, or the first at or after a time. */
export type InitialPosition = 'LATEST' | 'TRIM_HORIZON' | {
  /** Start at the first record that arrived at or after this time (Java AT_TIMESTAMP). */
  timestamp: Date;
};

/** Polling retrieval (Java PollingConfig): GetRecords on each shard, with bounded prefetch. The default. */
export interface PollingRetrievalConfig {
  /** Selects polling. */
  mode: 'polling';
  /** GetRecords `Limit`. Java: maxRecords = 10000 (also the maximum). */
  maxRecords?: number;
  /**
   * The longest wait between GetRecords calls on a shard: after empty pages the wait doubles from 200 ms
   * up to this; after a page with records the next call goes at once (200 ms, the read limit).
   * Java: idleTimeBetweenReadsInMillis = 1500 (a fixed wait), at least 200.
   */
  idleTimeBetweenReadsMs?: number;
  /** Prefetched batches waiting for the processor. Java: maxPendingProcessRecordsInput = 4. */
  maxPendingBatches?: number;
  /** Prefetched bytes waiting for the processor. Java: maxByteSize = 8 MiB. */
  maxPendingBytes?: number;
  /** Prefetched records waiting for the processor. Java: maxRecordsCount = 30000. */
  maxPendingRecords?: number;
  /**
   * Record bytes this worker may hold in retrieval at once, across all its shards and streams: pages being
   * fetched and batches waiting for their processors (ts-kcl; Java has only the per-shard limits, so a
   * worker's memory grows with its shard count). 64 MiB of record data costs about 3x that in heap (the
   * response, its decode, the records): about 200 MB, which a small container can afford. A shard waits
   * for room before its next fetch; one page bigger than the whole budget still goes, alone. Default 64 MiB.
   */
  maxBytesInFlightPerWorker?: number;
  /** Deadline of every unary Kinesis call (GetRecords, GetShardIterator, ListShards, ...). Java: kinesisRequestTimeout = 30 s. */
  kinesisRequestTimeoutMs?: number;
  /**
   * How GetRecords and GetShardIterator are sent: 'lean' (default: without the SDK's middleware stack; on
   * a client ts-kcl built, on its own keep-alive HTTP/1.1 client, on yours through its signer and HTTP
   * handler) or 'sdk' (the SDK's commands, for a borrowed client whose custom middleware must see every call).
   */
  getRecordsPath?: 'lean' | 'sdk';
}
/** Enhanced fan-out retrieval (Java FanOutConfig): SubscribeToShard over HTTP/2, pushed records, a registered consumer. */
export interface FanOutRetrievalConfig {
  /** Selects enhanced fan-out. */
  mode: 'fanout';
  /** The stream consumer to use, registered when missing. Default: `applicationName`. */
  consumerName?: string;
  /** A registered consumer's ARN: skips the lookup (and registration). */
  consumerArn?: string;
  /**
   * Record bytes this worker may hold in retrieval at once, across all its shards and streams: events being
   * read and batches waiting for their processors (ts-kcl; Java has only the per-shard limits, so a
   * worker's memory grows with its shard count). 64 MiB of record data costs about 3x that in heap (the
   * response, its decode, the records): about 200 MB, which a small container can afford. A shard's
   * subscription is not read while there is no room for an event like its last; one event bigger than the
   * whole budget still goes, alone. Default 64 MiB.
   */
  maxBytesInFlightPerWorker?: number;
  /** Deadline of every unary Kinesis call (ListShards, DescribeStreamConsumer, ...). Java: kinesisRequestTimeout = 30 s. */
  kinesisRequestTimeoutMs?: number;
}

/** Java WorkerUtilizationAwareAssignmentConfig, with `Ms` for Java's `Millis`. */
export interface WorkerUtilizationAwareAssignmentOptions {
  /** Java leaseAssignmentStrategy: by measured load (default) or by lease count. */
  leaseAssignmentStrategy?: LeaseAssignmentStrategy;
  /** Rebalance when a worker's load is outside average × (1 ± this/100). Default 10. */
  reBalanceThresholdPercentage?: number;
  /** How much of the excess load one rebalance moves, in percent. Default 60. */
  dampeningPercentage?: number;
  /** Whether a lease may push a worker past its share when no other worker can take it. Default true. */
  allowThroughputOvershoot?: boolean;
  /** Most throughput one worker is given, KB/s. Default unlimited. */
  maxThroughputPerHostKBps?: number;
  /** Rebalance on every Nth assignment run. Default 3. */
  varianceBalancingFrequency?: number;
  /** Smoothing of the workers' metrics by the leader. Default 0.5. */
  workerMetricsEMAAlpha?: number;
  /** Java inMemoryWorkerMetricsCaptureFrequencyMillis = 1000. */
  inMemoryWorkerMetricsCaptureFrequencyMs?: number;
  /** Java workerMetricsReporterFreqInMillis = 30000; a worker silent for twice this is dead to the leader. */
  workerMetricsReporterFreqMs?: number;
  /** Java noOfPersistedMetricsPerWorkerMetrics = 10. */
  noOfPersistedMetricsPerWorkerMetrics?: number;
  /** Java disableWorkerMetrics = false: select no metric; the item is still published, empty, and the leader balances this worker by throughput. */
  disableWorkerMetrics?: boolean;
  /**
   * What this worker reports (Java workerMetricList). Default: CPU of the container (cgroup v2/v1) or,
   * without one, of this process. Pass `[new ProcessCpuWorkerMetric()]` when several workers share a container.
   */
  workerMetrics?: WorkerMetric[];
}

/** The 3.x-mode lease settings of SchedulerConfig.lease. */
export interface Kcl3LeaseOptions {
  /** KCL 3.x: how often the leader assigns leases (Java leaseAssignmentIntervalMillis = 2 × failoverTimeMs). */
  leaseAssignmentIntervalMs?: number;
  /** KCL 3.x (Java GracefulLeaseHandoffConfig): a moved lease is checkpointed by its old owner before the new one starts. */
  gracefulLeaseHandoff?: {
    /** Default true. */
    enabled?: boolean;
    /** Java gracefulLeaseHandoffTimeoutMillis = 30000: the old owner hands over anyway after this. */
    timeoutMs?: number;
  };
  /** KCL 3.x: how the leader balances leases by worker load. */
  workerUtilizationAwareAssignment?: WorkerUtilizationAwareAssignmentOptions;
  /** KCL 3.x leader lock (the DynamoDB lock client's lease duration and heartbeat: Java 120000 / 30000). */
  leaderLock?: {
    /** How long the lock holds without a heartbeat; a dead leader is replaced after it. Java 120000. */
    leaseDurationMs?: number;
    /** How often the leader renews its lock. Java 30000. */
    heartbeatPeriodMs?: number;
  };
}

/**
 * Everything a {@link Scheduler} needs; only `applicationName`, the stream and `processorFactory` are
 * required, every default mirrors the Java KCL. The README's configuration table lists every field.
 */
export interface SchedulerConfig {
  /** Lease table name, CloudWatch namespace and default fan-out consumer name. */
  applicationName: string;
  /** The stream to consume; exactly one of streamName and streamArn. */
  streamName?: string;
  /** The stream's ARN (for cross-account streams); exactly one of streamName and streamArn. */
  streamArn?: string;
  /**
   * Multi-stream mode (Java's MultiStreamTracker), in place of streamName/streamArn: the streams of the
   * application, or a function returning them, asked again every shard-sync interval so streams can come
   * and go while the worker runs. Lease keys are Java's multi-stream keys (`account:stream:creationEpoch:shardId`).
   */
  streams?: StreamConfig[] | (() => Promise<StreamConfig[]>);
  /** Multi-stream mode only. */
  multiStream?: {
    /**
     * What happens to the leases of a stream no longer listed. Default: deleted once it has been unlisted
     * for an hour (FORMER_STREAMS_AUTO_DETECTION_DEFERRED_DELETION). Streams deleted or recreated in
     * Kinesis have their old leases deleted at once whatever the strategy.
     */
    formerStreamsLeasesDeletionStrategy?: FormerStreamsLeasesDeletionStrategy;
  };
  /**
   * The lease protocol (Java ClientVersionConfig). Omitted: the 2.x protocol, writing nothing of 3.x into
   * the table (Java 2.x workers read every item as a lease), and joining a migration another worker
   * started. `'compatible-with-2.x'` (CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X): starts the fleet's
   * migration — worker metrics published, the fleet flipped to 3.x once every worker is ready. `'3.x'`
   * (CLIENT_VERSION_CONFIG_3X): a lock-elected leader assigns leases by each worker's measured load,
   * workers find theirs through the `LeaseOwnerToLeaseKeyIndex` GSI and never steal, and a moved lease
   * is checkpointed by its old owner before the new one starts.
   */
  clientVersion?: ClientVersionOption;
  /** Default: host name + pid + random suffix. Keep it stable across restarts to resume leases at once. */
  workerId?: string;
  /** Creates one record processor per shard lease. */
  processorFactory: ShardRecordProcessorFactory;
  /** For unary Kinesis calls; borrowed, never altered or destroyed. Built from clientConfig when absent. */
  kinesisClient?: KinesisClient;
  /** For SubscribeToShard over HTTP/2 (fan-out); borrowed. Built from clientConfig when absent. */
  fanOutKinesisClient?: KinesisClient;
  /** For the lease table; borrowed. Built from clientConfig when absent. */
  dynamoDBClient?: DynamoDBClient;
  /** For metrics; passing one turns CloudWatch metrics on. */
  cloudWatchClient?: CloudWatchClientLike;
  /** Used to build the clients the caller did not pass. */
  clientConfig?: {
    /** The AWS region. Default: the SDK's own (`AWS_REGION`, the profile). */
    region?: string;
    /** Keys or a credentials provider. Default: the SDK's default chain. The renewal thread gets what the DynamoDB client resolves from it, again whenever that changes. */
    credentials?: KinesisClientConfig['credentials'];
    /** Endpoint overrides, e.g. local servers. Default: the SDK's own (`AWS_ENDPOINT_URL_*`, else AWS). */
    endpoints?: {
      /** Kinesis, for unary calls. */
      kinesis?: string;
      /** Kinesis for SubscribeToShard (fan-out). Default: `kinesis` (one endpoint serves both on AWS). */
      kinesisHttp2?: string;
      /** DynamoDB (the lease table). */
      dynamodb?: string;
      /** CloudWatch (metrics). */
      cloudwatch?: string;
    };
  };
  /** Where a new lease starts. Default LATEST, as in the Java KCL. An existing checkpoint always wins. */
  initialPosition?: InitialPosition;
  /** Default polling (cheaper, works everywhere); the Java KCL defaults to fan-out. */
  retrieval?: PollingRetrievalConfig | FanOutRetrievalConfig;
  /** Lease coordination (Java LeaseManagementConfig). */
  lease?: Kcl3LeaseOptions & {
    /** Java failoverTimeMillis = 10000. */
    failoverTimeMs?: number;
    /** Java maxLeasesForWorker = unlimited. */
    maxLeasesForWorker?: number;
    /** Java maxLeasesToStealAtOneTime = 1. */
    maxLeasesToStealAtOneTime?: number;
    /** Java shardSyncIntervalMillis = 60000. */
    shardSyncIntervalMs?: number;
    /** Java cleanupLeasesUponShardCompletion = true. */
    cleanupLeasesUponShardCompletion?: boolean;
    /** Java leaseCleanupIntervalMillis = 60000: how often this worker looks at the ended leases it queued. */
    leaseCleanupIntervalMs?: number;
    /** Java completedLeaseCleanupIntervalMillis = 300000: time since start-up or the last deletion before ended leases are checked. */
    completedLeaseCleanupIntervalMs?: number;
    /** Java billingMode = PAY_PER_REQUEST. */
    billingMode?: 'PAY_PER_REQUEST' | 'PROVISIONED';
    /** Lease table name; Java tableName defaults to the application name. */
    tableName?: string;
    /** Taker round interval. Java: (failoverTimeMillis + epsilon) * 2 = 20050. */
    takerIntervalMs?: number;
    /** Java epsilonMillis = 25. */
    epsilonMs?: number;
    /** Deadline of every DynamoDB call (renewals are also bounded by the lease's remaining time). Java: dynamoDbRequestTimeout = 1 min. */
    dynamoDbRequestTimeoutMs?: number;
    /** Java enablePriorityLeaseAssignment = true: leases unrenewed for 3 failover times are taken first. */
    enablePriorityLeaseAssignment?: boolean;
    /**
     * Release (evict) held leases in DynamoDB after a graceful shutdown so other workers take them at
     * their next taker round. Default true; the Java KCL only drops them locally (false).
     */
    releaseLeasesOnShutdown?: boolean;
    /**
     * How often to probe the table for leases a peer released (graceful shutdown) or stopped renewing,
     * and run a taker round at once when there are some. Reads one lease per peer (BatchGetItem), or a
     * count-only Scan when the table is too small for that to be cheaper; while the probe sees nothing,
     * up to 2 taker rounds in a row skip their Scan. Default: the renewal interval; 0 = never
     * (released leases then wait for the next taker round, as in the Java KCL).
     */
    unownedLeasePollIntervalMs?: number;
    /**
     * Renew leases in a worker thread, so a processor that blocks the event loop cannot cost the worker
     * its leases (Java renews on its own threads). Default true. The thread calls DynamoDB without the
     * SDK, with the region, endpoint and credentials (any provider) the worker's own DynamoDB client
     * resolves; it falls back to the main thread when `dynamoDBClient` is passed (its middleware and
     * handler cannot cross into a thread).
     */
    renewInWorkerThread?: boolean;
  };
  /** Start-up and shutdown (Java CoordinatorConfig). */
  coordinator?: {
    /** Java maxInitializationAttempts = 20. */
    maxInitializationAttempts?: number;
    /** Java schedulerInitializationBackoffTimeMillis = 1000. */
    initializationBackoffMs?: number;
    /** Java parentShardPollIntervalMillis = 10000. */
    parentShardPollIntervalMs?: number;
    /** How long startGracefulShutdown() waits for processors before giving up (resolving false). Default 60000. */
    gracefulShutdownTimeoutMs?: number;
    /**
     * The 2.x -> 3.x client-version migration (`Migration3.0` item): how often each worker reads it and
     * the leader checks readiness (Java: 60000), and how long the fleet must stay ready before the
     * leader flips it to 3.x (Java: 600000). Shorten only in tests.
     */
    clientVersionMigration?: {
      /** Java's monitor period, 60000. */
      monitorIntervalMs?: number;
      /** Java's MigrationReadyMonitor stable period, 600000. */
      readyStabilityMs?: number;
    };
  };
  /** Per-shard task retries (Java LifecycleConfig). */
  lifecycle?: {
    /** Java taskBackoffTimeMillis = 500: the wait before retrying a failed lifecycle step. */
    taskBackoffTimeMs?: number;
  };
  /** How the processor is called (Java ProcessorConfig). */
  processor?: {
    /** Java callProcessRecordsEvenForEmptyRecordList = false. */
    callProcessRecordsEvenForEmptyRecordList?: boolean;
    /**
     * What happens when processRecords throws. 'skip' (default, the Java KCL): log, emit 'error', move on
     * to the next batch. 'retry': log, emit 'error', back off and deliver the same batch again until it
     * succeeds or the lease ends (nothing is skipped; a poison batch stalls its shard).
     */
    onProcessRecordsError?: 'skip' | 'retry';
  };
  /** Metrics with the Java KCL's names, operations and dimensions. */
  metrics?: {
    /** Java metricsLevel = DETAILED. */
    level?: MetricsLevel;
    /**
     * Publish to CloudWatch (namespace = applicationName, buffered, batched PutMetricData). Default:
     * on when `cloudWatchClient` is given. (The Java KCL always publishes; ts-kcl publishes where you say.)
     */
    cloudWatch?: boolean;
    /** Record through `@opentelemetry/api` (install it; a no-op until the app registers an SDK). Default false. */
    openTelemetry?: boolean;
    /** More sinks, e.g. your own. */
    sinks?: MetricsSink[];
    /** Java metricsBufferTimeMillis = 10000. */
    bufferTimeMs?: number;
  };
  /**
   * A pino-compatible logger (debug/info/warn/error with an optional bindings object). Default: warnings
   * and errors to stderr, one line each; pass `silentLogger` for none.
   */
  logger?: Logger;
}

/** Every field filled with its default, checked, frozen. */
export interface ResolvedConfig {
  applicationName: string;
  tableName: string;
  /** Single-stream mode: the stream. Empty in multi-stream mode. */
  stream: { streamName?: string; streamArn?: string };
  /** Set in multi-stream mode. */
  multiStream: { streams: StreamsSource; formerStreamsLeasesDeletionStrategy: FormerStreamsLeasesDeletionStrategy } | undefined;
  workerId: string;
  processorFactory: ShardRecordProcessorFactory;
  initialPosition: InitialPosition;
  retrieval:
    | Required<PollingRetrievalConfig>
    | { mode: 'fanout'; consumerName: string; consumerArn?: string; kinesisRequestTimeoutMs: number; maxBytesInFlightPerWorker: number };
  lease: {
    failoverTimeMs: number;
    renewerIntervalMs: number;
    takerIntervalMs: number;
    epsilonMs: number;
    dynamoDbRequestTimeoutMs: number;
    maxLeasesForWorker: number;
    maxLeasesToStealAtOneTime: number;
    shardSyncIntervalMs: number;
    cleanupLeasesUponShardCompletion: boolean;
    leaseCleanupIntervalMs: number;
    completedLeaseCleanupIntervalMs: number;
    billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
    enablePriorityLeaseAssignment: boolean;
    releaseLeasesOnShutdown: boolean;
    unownedLeasePollIntervalMs: number;
    renewInWorkerThread: boolean;
  };
  /** Client version and the KCL 3.x settings (used in 3.x mode). */
  kcl3: ResolvedKcl3Config;
  coordinator: {
    maxInitializationAttempts: number;
    initializationBackoffMs: number;
    parentShardPollIntervalMs: number;
    gracefulShutdownTimeoutMs: number;
    clientVersionMigration: { monitorIntervalMs: number; readyStabilityMs: number };
  };
  lifecycle: { taskBackoffTimeMs: number };
  processor: { callProcessRecordsEvenForEmptyRecordList: boolean; onProcessRecordsError: 'skip' | 'retry' };
  metrics: { level: MetricsLevel; sinks: MetricsSink[]; bufferTimeMs: number; cloudWatch: boolean; openTelemetry: boolean };
  logger: Logger;
}

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[a-zA-Z0-9_.-]{1,128}$/;

function fail(field: string, problem: string, fix: string): never {
  throw new IllegalArgumentError(`SchedulerConfig.${field} ${problem}: ${fix}`);
}

function positiveInt(field: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(field, `is ${JSON.stringify(value)}`, `pass an integer >= ${min} (default ${fallback})`);
  }
  return value;
}

function bool(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(field, `is ${JSON.stringify(value)}`, 'pass true or false');
  return value;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(field, `is ${JSON.stringify(value)}`, `pass one of ${allowed.join(', ')}`);
  return value as T;
}

export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function resolveStream(c: SchedulerConfig): ResolvedConfig['stream'] {
  const given = [c.streamName, c.streamArn, c.streams].filter((v) => v !== undefined);
  if (given.length !== 1) {
    fail('streamName', given.length === 0 ? 'is missing' : 'is ambiguous', 'pass exactly one of streamName, streamArn or streams');
  }
  if (c.streams !== undefined) return {};
  return resolveOneStream(c, '');
}

function resolveOneStream(c: { streamName?: unknown; streamArn?: unknown }, where: string): ResolvedConfig['stream'] {
  if ((c.streamName === undefined) === (c.streamArn === undefined)) fail(`${where}streamName`, 'is ambiguous or missing', 'pass exactly one of streamName or streamArn');
  if (c.streamName !== undefined) {
    if (typeof c.streamName !== 'string' || !STREAM_NAME.test(c.streamName)) {
      fail(`${where}streamName`, `is ${JSON.stringify(c.streamName)}`, 'pass a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)');
    }
    return { streamName: c.streamName };
  }
  if (typeof c.streamArn !== 'string' || !STREAM_ARN.test(c.streamArn)) {
    fail(`${where}streamArn`, `is ${JSON.stringify(c.streamArn)}`, 'pass a stream ARN like arn:aws:kinesis:us-east-1:123456789012:stream/name');
  }
  return { streamArn: c.streamArn, streamName: c.streamArn.slice(c.streamArn.lastIndexOf('/') + 1) };
}

const HOUR_MS = 3600000;

function resolveMultiStream(c: SchedulerConfig): ResolvedConfig['multiStream'] {
  if (c.streams === undefined) {
    if (c.multiStream !== undefined) fail('multiStream', 'is set without streams', 'pass streams (multi-stream mode) or drop multiStream');
    return undefined;
  }
  if (Array.isArray(c.streams)) {
    c.streams.forEach((s, i) => {
      resolveOneStream(s, `streams[${i}].`);
      if (s.initialPosition !== undefined) resolveInitialPosition(s.initialPosition);
    });
  } else if (typeof c.streams !== 'function') {
    fail('streams', `is ${JSON.stringify(c.streams)}`, 'pass an array of { streamName | streamArn, initialPosition? } or a function returning a promise of one');
  }
  if (c.retrieval?.mode === 'fanout' && c.retrieval.consumerArn !== undefined) {
    fail('retrieval.consumerArn', 'is set with streams', 'omit it: in multi-stream mode each stream registers its own consumer (retrieval.consumerName)');
  }
  const strategy = c.multiStream?.formerStreamsLeasesDeletionStrategy ?? { type: 'FORMER_STREAMS_AUTO_DETECTION_DEFERRED_DELETION', waitPeriodToDeleteFormerStreamsMs: HOUR_MS };
  const types = ['NO_STREAMS_LEASES_DELETION', 'FORMER_STREAMS_AUTO_DETECTION_DEFERRED_DELETION', 'PROVIDED_STREAMS_DEFERRED_DELETION'] as const;
  oneOf('multiStream.formerStreamsLeasesDeletionStrategy.type', strategy.type, types, 'FORMER_STREAMS_AUTO_DETECTION_DEFERRED_DELETION');
  if (strategy.type === 'NO_STREAMS_LEASES_DELETION') return { streams: c.streams, formerStreamsLeasesDeletionStrategy: strategy };
  const waitPeriodToDeleteFormerStreamsMs = positiveInt('multiStream.formerStreamsLeasesDeletionStrategy.waitPeriodToDeleteFormerStreamsMs', strategy.waitPeriodToDeleteFormerStreamsMs, HOUR_MS, 0);
  if (strategy.type === 'PROVIDED_STREAMS_DEFERRED_DELETION' && typeof strategy.streamIdentifiersForLeaseCleanup !== 'function') {
    fail('multiStream.formerStreamsLeasesDeletionStrategy.streamIdentifiersForLeaseCleanup', 'is missing', 'pass a function returning the serialized stream identifiers to clean up');
  }
  return { streams: c.streams, formerStreamsLeasesDeletionStrategy: { ...strategy, waitPeriodToDeleteFormerStreamsMs } };
}

function resolveInitialPosition(value: unknown): InitialPosition {
  if (value === undefined) return 'LATEST';
  if (value === 'LATEST' || value === 'TRIM_HORIZON') return value;
  const ts = typeof value === 'object' && value !== null ? (value as { timestamp?: unknown }).timestamp : undefined;
  if (ts instanceof Date && !Number.isNaN(ts.getTime())) return { timestamp: ts };
  return fail('initialPosition', `is ${JSON.stringify(value)}`, "pass 'LATEST', 'TRIM_HORIZON' or { timestamp: Date }");
}

function resolveRetrieval(c: SchedulerConfig, logger: Logger): ResolvedConfig['retrieval'] {
  const r = c.retrieval ?? { mode: 'polling' };
  if (r.mode === 'fanout') {
    const consumerName = r.consumerName ?? c.applicationName;
    if (typeof consumerName !== 'string' || !/^[a-zA-Z0-9_.-]{1,128}$/.test(consumerName)) {
      fail('retrieval.consumerName', `is ${JSON.stringify(consumerName)}`, 'pass a consumer name (1-128 of a-z A-Z 0-9 _ . -)');
    }
    if (r.consumerArn !== undefined && typeof r.consumerArn !== 'string') {
      fail('retrieval.consumerArn', `is ${JSON.stringify(r.consumerArn)}`, 'pass the ARN of a registered stream consumer');
    }
    const kinesisRequestTimeoutMs = positiveInt('retrieval.kinesisRequestTimeoutMs', r.kinesisRequestTimeoutMs, 30000);
    const maxBytesInFlightPerWorker = bytesInFlight(r.maxBytesInFlightPerWorker);
    return r.consumerArn === undefined
      ? { mode: 'fanout', consumerName, kinesisRequestTimeoutMs, maxBytesInFlightPerWorker }
      : { mode: 'fanout', consumerName, consumerArn: r.consumerArn, kinesisRequestTimeoutMs, maxBytesInFlightPerWorker };
  }
  if (r.mode !== 'polling') fail('retrieval.mode', `is ${JSON.stringify((r as { mode: unknown }).mode)}`, "pass 'polling' or 'fanout'");
  const maxRecords = positiveInt('retrieval.maxRecords', r.maxRecords, 10000);
  if (maxRecords > 10000) fail('retrieval.maxRecords', `is ${maxRecords}`, 'GetRecords returns at most 10000 records: pass 1..10000');
  let idle = positiveInt('retrieval.idleTimeBetweenReadsMs', r.idleTimeBetweenReadsMs, 1500, 0);
  if (idle < 200) {
    // Kinesis allows 5 GetRecords per second per shard; the Java KCL clamps the same way.
    logger.warn({ idleTimeBetweenReadsMs: idle }, 'idleTimeBetweenReadsMs raised to 200 ms, the Kinesis per-shard read limit');
    idle = 200;
  }
  return {
    mode: 'polling',
    maxRecords,
    idleTimeBetweenReadsMs: idle,
    maxPendingBatches: positiveInt('retrieval.maxPendingBatches', r.maxPendingBatches, 4),
    maxPendingBytes: positiveInt('retrieval.maxPendingBytes', r.maxPendingBytes, 8 * 1024 * 1024),
    maxPendingRecords: positiveInt('retrieval.maxPendingRecords', r.maxPendingRecords, 30000),
    maxBytesInFlightPerWorker: bytesInFlight(r.maxBytesInFlightPerWorker),
    kinesisRequestTimeoutMs: positiveInt('retrieval.kinesisRequestTimeoutMs', r.kinesisRequestTimeoutMs, 30000),
    getRecordsPath: getRecordsPath(r.getRecordsPath),
  };
}

function bytesInFlight(value: unknown): number {
  if (value === undefined) return 64 * 1024 * 1024;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail('retrieval.maxBytesInFlightPerWorker', `is ${JSON.stringify(value)}`, 'pass a byte count >= 1 (default 67108864, 64 MiB); it bounds the record bytes the whole worker holds in retrieval, there is no "unlimited"');
  }
  return value;
}

function getRecordsPath(value: unknown): 'lean' | 'sdk' {
  if (value === undefined) return 'lean';
  if (value === 'lean' || value === 'sdk') return value;
  return fail('retrieval.getRecordsPath', `is ${JSON.stringify(value)}`, "pass 'lean' or 'sdk'");
}

function resolveLease(c: SchedulerConfig): ResolvedConfig['lease'] {
  const l = c.lease ?? {};
  const failoverTimeMs = positiveInt('lease.failoverTimeMs', l.failoverTimeMs, 10000);
  const epsilonMs = positiveInt('lease.epsilonMs', l.epsilonMs, 25, 0);
  const renewerIntervalMs = Math.floor(failoverTimeMs / 3) - epsilonMs;
  if (renewerIntervalMs <= 0) {
    fail('lease.failoverTimeMs', `is ${failoverTimeMs}`, `renewals run every failoverTimeMs/3 - epsilonMs, so pass at least ${3 * (epsilonMs + 1)}`);
  }
  return {
    failoverTimeMs,
    renewerIntervalMs,
    epsilonMs,
    dynamoDbRequestTimeoutMs: positiveInt('lease.dynamoDbRequestTimeoutMs', l.dynamoDbRequestTimeoutMs, 60000),
    takerIntervalMs: positiveInt('lease.takerIntervalMs', l.takerIntervalMs, (failoverTimeMs + epsilonMs) * 2),
    maxLeasesForWorker: positiveInt('lease.maxLeasesForWorker', l.maxLeasesForWorker, Number.MAX_SAFE_INTEGER),
    maxLeasesToStealAtOneTime: positiveInt('lease.maxLeasesToStealAtOneTime', l.maxLeasesToStealAtOneTime, 1),
    shardSyncIntervalMs: positiveInt('lease.shardSyncIntervalMs', l.shardSyncIntervalMs, 60000),
    cleanupLeasesUponShardCompletion: bool('lease.cleanupLeasesUponShardCompletion', l.cleanupLeasesUponShardCompletion, true),
    leaseCleanupIntervalMs: positiveInt('lease.leaseCleanupIntervalMs', l.leaseCleanupIntervalMs, 60000),
    completedLeaseCleanupIntervalMs: positiveInt('lease.completedLeaseCleanupIntervalMs', l.completedLeaseCleanupIntervalMs, 300000, 0),
    billingMode: oneOf('lease.billingMode', l.billingMode, ['PAY_PER_REQUEST', 'PROVISIONED'] as const, 'PAY_PER_REQUEST'),
    enablePriorityLeaseAssignment: bool('lease.enablePriorityLeaseAssignment', l.enablePriorityLeaseAssignment, true),
    releaseLeasesOnShutdown: bool('lease.releaseLeasesOnShutdown', l.releaseLeasesOnShutdown, true),
    unownedLeasePollIntervalMs: positiveInt('lease.unownedLeasePollIntervalMs', l.unownedLeasePollIntervalMs, renewerIntervalMs, 0),
    renewInWorkerThread: bool('lease.renewInWorkerThread', l.renewInWorkerThread, true),
  };
}

/** Fills the Java defaults, checks every field and cross-field rule, and freezes the result. */
export function resolveConfig(c: SchedulerConfig): ResolvedConfig {
  if (c === null || typeof c !== 'object') fail('', 'is missing', 'pass a SchedulerConfig object');
  if (typeof c.applicationName !== 'string' || !TABLE_NAME.test(c.applicationName)) {
    fail('applicationName', `is ${JSON.stringify(c.applicationName)}`, 'pass 3-255 of a-z A-Z 0-9 _ . - (it names the lease table)');
  }
  if (typeof c.processorFactory !== 'function') {
    fail('processorFactory', 'is not a function', 'pass (shard) => a ShardRecordProcessor');
  }
  // A class is a function too, but calling it without `new` throws for every shard, forever.
  if (/^class[\s{]/.test(Function.prototype.toString.call(c.processorFactory))) {
    fail('processorFactory', `is the class ${c.processorFactory.name || '(anonymous)'}, not a factory`, `pass (shard) => new ${c.processorFactory.name || 'MyProcessor'}(shard)`);
  }
  if (c.workerId !== undefined && (typeof c.workerId !== 'string' || c.workerId.length === 0)) {
    fail('workerId', `is ${JSON.stringify(c.workerId)}`, 'pass a non-empty string, or omit it for host-pid-random');
  }
  const tableName = c.lease?.tableName ?? c.applicationName;
  if (!TABLE_NAME.test(tableName)) fail('lease.tableName', `is ${JSON.stringify(tableName)}`, 'pass a DynamoDB table name');
  const logger = c.logger ?? stderrLogger();
  const co = c.coordinator ?? {};
  const level = oneOf('metrics.level', c.metrics?.level, ['NONE', 'SUMMARY', 'DETAILED'] as const, 'DETAILED');
  const lease = resolveLease(c);
  const resolved: ResolvedConfig = {
    applicationName: c.applicationName,
    tableName,
    stream: resolveStream(c),
    multiStream: resolveMultiStream(c),
    workerId: c.workerId ?? defaultWorkerId(),
    processorFactory: c.processorFactory,
    initialPosition: resolveInitialPosition(c.initialPosition),
    retrieval: resolveRetrieval(c, logger),
    lease,
    kcl3: resolveKcl3Config(c.clientVersion, c.lease ?? {}, lease),
    coordinator: {
      maxInitializationAttempts: positiveInt('coordinator.maxInitializationAttempts', co.maxInitializationAttempts, 20),
      initializationBackoffMs: positiveInt('coordinator.initializationBackoffMs', co.initializationBackoffMs, 1000, 0),
      parentShardPollIntervalMs: positiveInt('coordinator.parentShardPollIntervalMs', co.parentShardPollIntervalMs, 10000),
      gracefulShutdownTimeoutMs: positiveInt('coordinator.gracefulShutdownTimeoutMs', co.gracefulShutdownTimeoutMs, 60000),
      clientVersionMigration: {
        monitorIntervalMs: positiveInt('coordinator.clientVersionMigration.monitorIntervalMs', co.clientVersionMigration?.monitorIntervalMs, 60000),
        readyStabilityMs: positiveInt('coordinator.clientVersionMigration.readyStabilityMs', co.clientVersionMigration?.readyStabilityMs, 600000, 0),
      },
    },
    lifecycle: { taskBackoffTimeMs: positiveInt('lifecycle.taskBackoffTimeMs', c.lifecycle?.taskBackoffTimeMs, 500) },
    processor: {
      callProcessRecordsEvenForEmptyRecordList: bool(
        'processor.callProcessRecordsEvenForEmptyRecordList',
        c.processor?.callProcessRecordsEvenForEmptyRecordList,
        false,
      ),
      onProcessRecordsError: oneOf('processor.onProcessRecordsError', c.processor?.onProcessRecordsError, ['skip', 'retry'] as const, 'skip'),
    },
    metrics: {
      level,
      sinks: [...(c.metrics?.sinks ?? [])],
      cloudWatch: bool('metrics.cloudWatch', c.metrics?.cloudWatch, c.cloudWatchClient !== undefined),
      openTelemetry: bool('metrics.openTelemetry', c.metrics?.openTelemetry, false),
      bufferTimeMs: positiveInt('metrics.bufferTimeMs', c.metrics?.bufferTimeMs, 10000),
    },
    logger,
  };
  for (const section of Object.values(resolved)) if (section && typeof section === 'object' && !Array.isArray(section) && section !== logger) Object.freeze(section);
  return Object.freeze(resolved);
}
