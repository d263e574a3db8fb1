import type { ResolvedConfig } from '../config.ts';
import type { AwsClients } from '../common/clients.ts';
import { childLogger, type Logger } from '../common/logger.ts';
import type { Lease } from '../leases/lease.ts';
import type { LeaseRefresher } from '../leases/lease-refresher.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { ShardDetector } from '../retrieval/shard-detector.ts';
import type { StreamIdentifier } from '../retrieval/stream-identifier.ts';
import { StreamLeaseRefresher } from '../multistream/stream-lease-refresher.ts';
import { ShardSyncManager } from './shard-sync-manager.ts';
import { LeaseCleanupManager } from '../leases/lease-cleanup-manager.ts';
import type { ByteBudget } from '../retrieval/byte-budget.ts';
import type { IdlePollClock } from '../retrieval/polling/idle-poll-clock.ts';
import { createRecordsPublisherFactory, type RecordsPublisherFactory, type RetrievalErrorReporter } from './records-publisher-factory.ts';

/**
 * Everything the worker runs for one stream: its shard sync, its records publishers, and its leases seen
 * with shard ids as keys. Single-stream mode has one, over the whole table; multi-stream mode one per
 * stream, over that stream's leases.
 */
export interface StreamRuntime {
  /** The serialized StreamIdentifier in multi-stream mode; undefined in single-stream mode. */
  identifier: string | undefined;
  streamName: string;
  streamArn: string | undefined;
  /** The stream's leases, keyed by shard id. */
  leases: LeaseRefresher;
  shardSync: ShardSyncManager;
  createPublisher: RecordsPublisherFactory;
  /** Deletes the leases this worker's consumers ended in this stream, whoever leads (off without cleanupLeasesUponShardCompletion). */
  leaseCleanup: LeaseCleanupManager | undefined;
  logger: Logger;
  metrics: Metrics;
  leaseKeyOf(shardId: string): string;
  shardIdOf(leaseKey: string): string;
  /** A stored lease with its key turned into the shard id. */
  shardView(stored: Lease): Lease;
}

export interface StreamRuntimeDeps {
  config: ResolvedConfig;
  clients: AwsClients;
  table: LeaseRefresher;
  logger: Logger;
  metrics: Metrics;
  reportError: RetrievalErrorReporter;
  /** The worker's bound on record bytes in retrieval, shared by every stream. */
  budget: ByteBudget;
  /** The worker's: idle shards of every stream poll on shared wakeups. */
  idlePolls: IdlePollClock;
  /** The worker's: ends the stream's background loops. */
  signal: AbortSignal;
  /** A lease this worker ended was deleted: stop renewing it. */
  onEndedLeaseDeleted(leaseKey: string): void;
}

export interface StreamTarget {
  identifier: string | undefined;
  stream: StreamIdentifier;
  initialPosition: ResolvedConfig['initialPosition'];
}

export function createStreamRuntime(deps: StreamRuntimeDeps, target: StreamTarget): StreamRuntime {
  const { config: c, clients } = deps;
  const view = target.identifier === undefined ? undefined : new StreamLeaseRefresher(deps.table, target.identifier);
  const leases = view ?? deps.table;
  const streamName = target.stream.streamName ?? '';
  const logger = target.identifier === undefined ? deps.logger : childLogger(deps.logger, { stream: streamName, streamIdentifier: target.identifier });
  // Java adds StreamId to every metric in multi-stream mode.
  const metrics = target.identifier === undefined ? deps.metrics : deps.metrics.withDimensions({ StreamId: target.identifier });
  const position = typeof target.initialPosition === 'string' ? target.initialPosition : 'AT_TIMESTAMP';
  const detector = new ShardDetector(clients.kinesis, target.stream, c.retrieval.kinesisRequestTimeoutMs);
  const leaseKeyOf = (shardId: string): string => view?.leaseKeyOf(shardId) ?? shardId;
  // Errors carry the lease key: in multi-stream mode it names the stream as well as the shard.
  const reportError: RetrievalErrorReporter = (err, shardId) => deps.reportError(err, leaseKeyOf(shardId));
  const leaseCleanup = c.lease.cleanupLeasesUponShardCompletion
    ? new LeaseCleanupManager(
        leases,
        {
          workerId: c.workerId,
          leaseCleanupIntervalMs: c.lease.leaseCleanupIntervalMs,
          completedLeaseCleanupIntervalMs: c.lease.completedLeaseCleanupIntervalMs,
          onDeleted: (shardId) => deps.onEndedLeaseDeleted(leaseKeyOf(shardId)),
        },
        childLogger(logger, { component: 'LeaseCleanup' }),
      )
    : undefined;
  leaseCleanup?.start(deps.signal);
  return {
    identifier: target.identifier,
    streamName,
    streamArn: target.stream.streamArn,
    leases,
    shardSync: new ShardSyncManager(detector, leases, position, c.lease.cleanupLeasesUponShardCompletion, childLogger(logger, { component: 'ShardSync' }), metrics),
    createPublisher: createRecordsPublisherFactory(c, { stream: target.stream, initialPosition: target.initialPosition }, clients, logger, metrics, reportError, deps.budget, deps.idlePolls),
    leaseCleanup,
    logger,
    metrics,
    leaseKeyOf,
    shardIdOf: (leaseKey) => (view ? leaseKey.slice(view.streamIdentifier.length + 1) : leaseKey),
    shardView: (stored) => view?.toShardView(stored) ?? stored,
  };
}
