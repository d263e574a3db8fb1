import type { ResolvedConfig } from '../config.ts';
import type { StreamIdentifier } from '../retrieval/stream-identifier.ts';
import type { AwsClients } from '../common/clients.ts';
import { childLogger, type Logger } from '../common/logger.ts';
import type { Lease } from '../leases/lease.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';
import type { PublisherHooks, RecordsPublisher } from '../retrieval/records-publisher.ts';
import { KinesisDataFetcher } from '../retrieval/polling/kinesis-data-fetcher.ts';
import { PrefetchRecordsPublisher } from '../retrieval/polling/prefetch-records-publisher.ts';
import { FanOutConsumerRegistration } from '../retrieval/fanout/consumer-registration.ts';
import { FanOutRecordsPublisher } from '../retrieval/fanout/fan-out-records-publisher.ts';
import { getRecordsShardEndProbe } from '../retrieval/fanout/shard-end-probe.ts';
import type { ByteBudget } from '../retrieval/byte-budget.ts';
import type { IdlePollClock } from '../retrieval/polling/idle-poll-clock.ts';

/** Per publisher: `mayFetch` is checked before every Kinesis call and every batch queued (false stops it). */
export interface CreatePublisherOptions {
  mayFetch?: () => boolean;
}

export type RecordsPublisherFactory = (lease: Lease, start: ExtendedSequenceNumber, options?: CreatePublisherOptions) => RecordsPublisher;

/** Where retrieval failures go (the Scheduler's `error` event), once per failure streak of a shard. */
export type RetrievalErrorReporter = (err: unknown, shardId: string) => void;

/** Picks the retrieval mode once; the shard consumer only ever sees a RecordsPublisher. */
/** The stream a factory reads, and where its shards start when they have no checkpoint. */
export interface PublisherTarget {
  stream: StreamIdentifier;
  initialPosition: ResolvedConfig['initialPosition'];
}

export function createRecordsPublisherFactory(
  config: ResolvedConfig,
  target: PublisherTarget,
  clients: AwsClients,
  logger: Logger,
  metrics: Metrics,
  reportError: RetrievalErrorReporter,
  /** The worker's (one per Scheduler, shared by every stream): bounds the record bytes of all its publishers. */
  budget: ByteBudget,
  /** The worker's: idle shards' polls share wakeups. */
  idlePolls: IdlePollClock,
): RecordsPublisherFactory {
  const timestamp = typeof target.initialPosition === 'object' ? target.initialPosition.timestamp : undefined;
  const r = config.retrieval;
  const timeoutMs = r.kinesisRequestTimeoutMs;
  const hooks = (shardId: string, options: CreatePublisherOptions | undefined): PublisherHooks => ({
    reportError: (err) => reportError(err, shardId),
    ...(options?.mayFetch ? { mayFetch: options.mayFetch } : {}),
  });
  if (r.mode === 'fanout') {
    // One registration per Scheduler, shared by every shard; started now so the consumer is (being)
    // created while the first leases are taken. Failures are logged and retried by the publishers.
    const registration = new FanOutConsumerRegistration(
      clients.kinesis,
      target.stream,
      r.consumerName,
      r.consumerArn,
      childLogger(logger, { component: 'FanOutConsumerRegistration' }),
      { requestTimeoutMs: timeoutMs },
    );
    registration.consumerArn().catch(() => undefined);
    return (lease, start, options) =>
      new FanOutRecordsPublisher({
        kinesis: clients.fanOutKinesis,
        consumer: registration,
        shardId: lease.leaseKey,
        start: { checkpoint: start, ...(timestamp ? { timestamp } : {}) },
        hashKeyRange: lease.hashKeyRange,
        // Unary calls, for servers that never end a closed shard's subscription (see shard-end-probe.ts).
        probeShardEnd: getRecordsShardEndProbe(new KinesisDataFetcher(clients.kinesis, target.stream, lease.leaseKey, 1, timeoutMs)),
        logger: childLogger(logger, { component: 'FanOutRecordsPublisher', shardId: lease.leaseKey }),
        metrics,
        hooks: hooks(lease.leaseKey, options),
        options: { requestTimeoutMs: timeoutMs },
        budget,
      });
  }
  return (lease, start, options) =>
    new PrefetchRecordsPublisher(
      new KinesisDataFetcher(clients.kinesis, target.stream, lease.leaseKey, r.maxRecords, timeoutMs, r.getRecordsPath),
      { checkpoint: start, ...(timestamp ? { timestamp } : {}) },
      lease.hashKeyRange,
      r,
      childLogger(logger, { component: 'PrefetchRecordsPublisher', shardId: lease.leaseKey }),
      metrics,
      hooks(lease.leaseKey, options),
      budget,
      idlePolls,
    );
}
