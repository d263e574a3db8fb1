import { readFileSync } from 'node:fs';
import type { FanOutRetrievalConfig, PollingRetrievalConfig, SchedulerConfig } from '../config.ts';
import { parseJavaProperties, type PropertyEntry } from './java-properties.ts';

/** What a MultiLangDaemon properties file configures, in ts-kcl's terms. */
export interface MultiLangConfig {
  /** `executableName`, split on runs of spaces as the Java daemon splits it (no shell). */
  command: string[];
  /** The Scheduler's configuration, without the processor factory and the logger. */
  scheduler: Omit<SchedulerConfig, 'processorFactory' | 'logger'>;
  /** `timeoutInSeconds`: how long a child may take to answer a message; undefined waits (as Java), with a WARN each minute. */
  childTimeoutMs: number | undefined;
  /** One line per property that has no effect in ts-kcl or is unknown, naming it. */
  warnings: string[];
}

/** A properties file ts-kcl cannot run: one line per bad property, each naming it. */
export class MultiLangConfigError extends Error {
  override name = 'MultiLangConfigError';
}

/** Reads a MultiLangDaemon properties file (a path on the file system). */
export function readMultiLangProperties(path: string): MultiLangConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MultiLangConfigError(`Cannot read the properties file ${path}: ${(err as Error).message}`);
  }
  return multiLangConfigFrom(parseJavaProperties(text), path);
}

interface Draft {
  command?: string[];
  applicationName?: string;
  streamName?: string;
  streamArn?: string;
  workerId?: string;
  tableName?: string;
  initialPosition?: 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';
  timestamp?: Date;
  region?: string;
  endpoints: { kinesis?: string; dynamodb?: string; cloudwatch?: string };
  retrievalMode: 'POLLING' | 'FANOUT' | 'DEFAULT';
  polling: Omit<PollingRetrievalConfig, 'mode'>;
  fanout: Omit<FanOutRetrievalConfig, 'mode'>;
  lease: NonNullable<SchedulerConfig['lease']>;
  coordinator: NonNullable<SchedulerConfig['coordinator']>;
  lifecycle: NonNullable<SchedulerConfig['lifecycle']>;
  processor: NonNullable<SchedulerConfig['processor']>;
  metrics: NonNullable<SchedulerConfig['metrics']>;
  childTimeoutMs?: number;
}

type Setter = (value: string, d: Draft) => void;

/** Thrown by a setter; the caller adds the file, line and property name. */
class BadValue extends Error {}

function int(value: string, min: number): number {
  if (!/^[+-]?\d+$/.test(value)) throw new BadValue(`is not an integer: pass a whole number >= ${min}`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new BadValue(`is out of range: pass a whole number >= ${min}`);
  return n;
}

/** Java's BeanUtils boolean words. */
function bool(value: string): boolean {
  const v = value.toLowerCase();
  if (['true', 'yes', 'y', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'n', 'off', '0'].includes(v)) return false;
  throw new BadValue('is not a boolean: pass true or false');
}

function oneOf<T extends string>(value: string, allowed: readonly T[]): T {
  const v = value.toUpperCase() as T;
  if (!allowed.includes(v)) throw new BadValue(`is not one of ${allowed.join(', ')}`);
  return v;
}

function url(value: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  try {
    new URL(withScheme);
  } catch {
    throw new BadValue('is not a URL: pass e.g. https://kinesis.us-east-1.amazonaws.com or http://localhost:4567');
  }
  return withScheme;
}

/** Credential providers the SDK's default chain covers (environment, profile, container, instance). */
const DEFAULT_CHAIN_PROVIDERS = [
  'DefaultCredentialsProvider',
  'DefaultAWSCredentialsProviderChain',
  'EnvironmentVariableCredentialsProvider',
  'SystemPropertyCredentialsProvider',
  'SystemPropertiesCredentialsProvider',
  'ProfileCredentialsProvider',
  'ContainerCredentialsProvider',
  'InstanceProfileCredentialsProvider',
  'WebIdentityTokenFileCredentialsProvider',
];

function credentialsProvider(value: string): void {
  for (const provider of value.split(',')) {
    const simple = provider.trim().split('|')[0]!.split('.').at(-1)!;
    if (!DEFAULT_CHAIN_PROVIDERS.includes(simple)) {
      throw new BadValue(
        `names ${simple}, which ts-kcl cannot build: ts-kcl uses the AWS SDK's default credential chain (${DEFAULT_CHAIN_PROVIDERS.slice(0, 3).join(', ')}, ...); ` +
          'set AWS_* environment variables, a profile or a role, and name DefaultCredentialsProvider',
      );
    }
  }
}

const ms = (value: string): number => int(value, 1);

/** The properties ts-kcl maps, by their Java names. */
const SETTERS: Record<string, Setter> = {
  executableName: (v, d) => {
    const command = v.trim().split(/ +/);
    if (command[0] === '') throw new BadValue('is empty: name the processor command, e.g. python3 sample_kclpy_app.py');
    d.command = command;
  },
  applicationName: (v, d) => (d.applicationName = v),
  streamName: (v, d) => (d.streamName = v),
  streamArn: (v, d) => (d.streamArn = v),
  workerId: (v, d) => (d.workerId = v),
  workerIdentifier: (v, d) => (d.workerId = v),
  tableName: (v, d) => (d.tableName = v),
  initialPositionInStream: (v, d) => (d.initialPosition = oneOf(v, ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const)),
  // Java: seconds since the epoch, and it implies AT_TIMESTAMP.
  initialPositionInStreamExtended: (v, d) => {
    d.timestamp = new Date(int(v, 0) * 1000);
    d.initialPosition = 'AT_TIMESTAMP';
  },
  regionName: (v, d) => (d.region = v),
  kinesisEndpoint: (v, d) => (d.endpoints.kinesis = url(v)),
  dynamoDBEndpoint: (v, d) => (d.endpoints.dynamodb = url(v)),
  'kinesisClient.endpointOverride': (v, d) => (d.endpoints.kinesis = url(v)),
  'dynamoDbClient.endpointOverride': (v, d) => (d.endpoints.dynamodb = url(v)),
  'cloudWatchClient.endpointOverride': (v, d) => (d.endpoints.cloudwatch = url(v)),
  'kinesisClient.region': (v, d) => (d.region = v),
  'dynamoDbClient.region': (v, d) => (d.region = v),
  'cloudWatchClient.region': (v, d) => (d.region = v),
  AWSCredentialsProvider: (v) => credentialsProvider(v),
  AWSCredentialsProviderDynamoDB: (v) => credentialsProvider(v),
  AWSCredentialsProviderCloudWatch: (v) => credentialsProvider(v),
  retrievalMode: (v, d) => (d.retrievalMode = oneOf(v, ['POLLING', 'FANOUT', 'DEFAULT'] as const)),
  maxRecords: (v, d) => {
    const n = int(v, 1);
    if (n > 10000) throw new BadValue('is above 10000, the most GetRecords returns');
    d.polling.maxRecords = n;
  },
  idleTimeBetweenReadsInMillis: (v, d) => (d.polling.idleTimeBetweenReadsMs = int(v, 0)),
  consumerArn: (v, d) => (d.fanout.consumerArn = v),
  consumerName: (v, d) => (d.fanout.consumerName = v),
  failoverTimeMillis: (v, d) => (d.lease.failoverTimeMs = ms(v)),
  shardSyncIntervalMillis: (v, d) => (d.lease.shardSyncIntervalMs = ms(v)),
  maxLeasesForWorker: (v, d) => (d.lease.maxLeasesForWorker = int(v, 1)),
  maxLeasesToStealAtOneTime: (v, d) => (d.lease.maxLeasesToStealAtOneTime = int(v, 1)),
  cleanupLeasesUponShardCompletion: (v, d) => (d.lease.cleanupLeasesUponShardCompletion = bool(v)),
  enablePriorityLeaseAssignment: (v, d) => (d.lease.enablePriorityLeaseAssignment = bool(v)),
  epsilonMillis: (v, d) => (d.lease.epsilonMs = int(v, 0)),
  billingMode: (v, d) => (d.lease.billingMode = oneOf(v, ['PAY_PER_REQUEST', 'PROVISIONED'] as const)),
  parentShardPollIntervalMillis: (v, d) => (d.coordinator.parentShardPollIntervalMs = ms(v)),
  schedulerInitializationBackoffTimeMillis: (v, d) => (d.coordinator.initializationBackoffMs = int(v, 0)),
  maxInitializationAttempts: (v, d) => (d.coordinator.maxInitializationAttempts = int(v, 1)),
  shutdownGraceMillis: (v, d) => {
    const n = int(v, 0);
    if (n > 0) d.coordinator.gracefulShutdownTimeoutMs = n; // Java: 0 = its own default
  },
  taskBackoffTimeMillis: (v, d) => (d.lifecycle.taskBackoffTimeMs = ms(v)),
  callProcessRecordsEvenForEmptyRecordList: (v, d) => (d.processor.callProcessRecordsEvenForEmptyRecordList = bool(v)),
  metricsLevel: (v, d) => (d.metrics.level = oneOf(v, ['NONE', 'SUMMARY', 'DETAILED'] as const)),
  metricsBufferTimeMillis: (v, d) => (d.metrics.bufferTimeMs = ms(v)),
  timeoutInSeconds: (v, d) => (d.childTimeoutMs = int(v, 1) * 1000),
  // KCL 3.x's lease assignment is not ts-kcl's: refuse rather than join a 3.x fleet with the 2.x protocol.
  clientVersionConfig: (v) => {
    if (oneOf(v, ['CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X', 'CLIENT_VERSION_CONFIG_3X'] as const) === 'CLIENT_VERSION_CONFIG_3X') {
      throw new BadValue('asks for the KCL 3.x lease protocol; ts-kcl speaks the 2.x one: set CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X');
    }
  },
  processingLanguage: () => {}, // Java adds it to the user agent only
};

/**
 * Java properties with no effect in ts-kcl: accepted with a WARN that says why, since running without
 * them is safe (thread pools, retry counts ts-kcl replaces with deadlines and backoff, table options
 * applied only when the Java KCL creates the table, KCL 3.x features).
 */
const NO_EFFECT: Record<string, string> = {
  maxActiveThreads: 'ts-kcl runs no thread pool: one async loop per shard',
  maxLeaseRenewalThreads: 'renewals run in one worker thread',
  maxGetRecordsThreadPool: 'no GetRecords thread pool',
  retryGetRecordsInSeconds: 'GetRecords has a deadline (kinesisRequestTimeout) and backs off',
  millisBehindLatestThresholdForReducedTps: 'not implemented; idleTimeBetweenReadsInMillis applies',
  usePollingConfigIdleTimeValue: 'idleTimeBetweenReadsInMillis always applies',
  listShardsBackoffTimeInMillis: 'ListShards backs off with jitter on its own',
  maxListShardsRetryAttempts: 'ListShards retries until the deadline',
  maxDescribeStreamSummaryRetries: 'calls retry until their deadline',
  maxDescribeStreamConsumerRetries: 'calls retry until their deadline',
  registerStreamConsumerRetries: 'calls retry until their deadline',
  retryBackoffMillis: 'backoff is built in',
  metricsMaxQueueSize: 'metrics are buffered by time (metricsBufferTimeMillis)',
  metricsEnabledDimensions: 'metrics carry the Java default dimensions',
  logWarningForTaskAfterMillis: 'not implemented',
  ignoreUnexpectedChildShards: 'not implemented',
  skipShardSyncAtWorkerInitializationIfLeasesExist: 'the first shard sync always runs',
  shardPrioritization: 'not implemented',
  validateSequenceNumberBeforeCheckpointing: 'checkpoints are validated against the delivered range',
  initialLeaseTableReadCapacity: 'the table is created PAY_PER_REQUEST unless billingMode = PROVISIONED (then 10/10)',
  initialLeaseTableWriteCapacity: 'the table is created PAY_PER_REQUEST unless billingMode = PROVISIONED (then 10/10)',
  leaseTableDeletionProtectionEnabled: 'set it on the table yourself',
  leaseTablePitrEnabled: 'set it on the table yourself',
  leaseTableScanTotalSegments: 'the table is scanned in one segment',
  leaseAssignmentIntervalMillis: 'a KCL 3.x setting; ts-kcl runs the 2.x taker',
  migrateAllEntitiesToLeaseTable: 'a KCL 3.x setting',
  tableMigrationCompleteBakeTimeSeconds: 'a KCL 3.x setting',
  cloudWatchClient: 'only cloudWatchClient.endpointOverride and .region are read',
};
/** Prefixes of KCL 3.x nested settings (worker metrics, graceful handoff, coordinator state). */
const NO_EFFECT_PREFIXES = ['workerUtilizationAwareAssignmentConfig', 'workerMetricsTableConfig', 'coordinatorStateTableConfig', 'gracefulLeaseHandoffConfig', 'isGracefulLeaseHandoffEnabled', 'gracefulLeaseHandoffTimeoutMillis'];

const POLLING_PROPERTIES = ['maxRecords', 'idleTimeBetweenReadsInMillis', 'retryGetRecordsInSeconds', 'maxGetRecordsThreadPool', 'millisBehindLatestThresholdForReducedTps'];

const lowerCaseNames = new Map(Object.keys(SETTERS).concat(Object.keys(NO_EFFECT)).map((k) => [k.toLowerCase(), k]));

/** Maps parsed properties to a config; every problem is one line naming the property and what to do. */
export function multiLangConfigFrom(entries: Map<string, PropertyEntry>, source = 'properties'): MultiLangConfig {
  const d: Draft = { endpoints: {}, retrievalMode: 'DEFAULT', polling: {}, fanout: {}, lease: {}, coordinator: {}, lifecycle: {}, processor: {}, metrics: {} };
  const errors: string[] = [];
  const warnings: string[] = [];
  const where = (key: string, e: PropertyEntry): string => `${source}:${e.line}: ${key}`;
  for (const [rawKey, entry] of entries) {
    // Java reads AWSCredentialsProvider* in any case (KinesisClientLibConfigurator.processKey).
    const key = /^awscredentialsprovider/i.test(rawKey) ? rawKey.replace(/^awscredentialsprovider/i, 'AWSCredentialsProvider') : rawKey;
    const setter = SETTERS[key];
    if (setter) {
      try {
        setter(entry.value.trim(), d);
      } catch (err) {
        if (!(err instanceof BadValue)) throw err;
        errors.push(`${where(key, entry)} = ${JSON.stringify(entry.value)} ${err.message}`);
      }
    } else if (NO_EFFECT[key] !== undefined || NO_EFFECT_PREFIXES.some((p) => key.startsWith(p))) {
      warnings.push(`${where(key, entry)} has no effect in ts-kcl (${NO_EFFECT[key] ?? 'a KCL 3.x setting'})`);
    } else {
      const near = lowerCaseNames.get(key.toLowerCase());
      warnings.push(`${where(key, entry)} is not a MultiLangDaemon property ts-kcl knows; ignored${near ? ` (did you mean ${near}?)` : ''}`);
    }
  }
  if (!d.command) errors.push(`${source}: executableName is missing: name the processor command, e.g. executableName = python3 sample_kclpy_app.py`);
  if (!d.applicationName) errors.push(`${source}: applicationName is missing: it names the lease table`);
  if (!d.streamName && !d.streamArn) errors.push(`${source}: streamName is missing: set streamName or streamArn`);
  if (d.initialPosition === 'AT_TIMESTAMP' && !d.timestamp) {
    errors.push(`${source}: initialPositionInStream = AT_TIMESTAMP needs initialPositionInStreamExtended (seconds since the epoch)`);
  }
  if (errors.length > 0) throw new MultiLangConfigError(errors.join('\n'));
  return { command: d.command!, scheduler: toSchedulerConfig(d, entries, warnings), childTimeoutMs: d.childTimeoutMs, warnings };
}

function toSchedulerConfig(d: Draft, entries: Map<string, PropertyEntry>, warnings: string[]): MultiLangConfig['scheduler'] {
  // Java's DEFAULT mode: polling when any polling property is set, else enhanced fan-out.
  const polling = d.retrievalMode === 'POLLING' || (d.retrievalMode === 'DEFAULT' && POLLING_PROPERTIES.some((p) => entries.has(p)));
  if (d.streamArn && d.streamName) warnings.push('streamArn and streamName are both set: streamArn wins, as in the Java daemon');
  const position = d.initialPosition === 'AT_TIMESTAMP' ? { timestamp: d.timestamp! } : d.initialPosition;
  const hasEndpoints = Object.keys(d.endpoints).length > 0;
  return {
    applicationName: d.applicationName!,
    ...(d.streamArn ? { streamArn: d.streamArn } : { streamName: d.streamName! }),
    ...(d.workerId ? { workerId: d.workerId } : {}),
    ...(position ? { initialPosition: position } : {}),
    ...(d.region || hasEndpoints ? { clientConfig: { ...(d.region ? { region: d.region } : {}), ...(hasEndpoints ? { endpoints: d.endpoints } : {}) } } : {}),
    retrieval: polling ? { mode: 'polling', ...d.polling } : { mode: 'fanout', ...d.fanout },
    lease: { ...d.lease, ...(d.tableName ? { tableName: d.tableName } : {}) },
    coordinator: d.coordinator,
    lifecycle: d.lifecycle,
    // A batch a child failed is delivered again to the next owner, never skipped (see multilang-processor.ts).
    processor: { ...d.processor, onProcessRecordsError: 'retry' },
    // The Java daemon publishes to CloudWatch unless metricsLevel = NONE; so does ts-kcl multilang.
    metrics: { ...d.metrics, cloudWatch: (d.metrics.level ?? 'DETAILED') !== 'NONE' },
  };
}
