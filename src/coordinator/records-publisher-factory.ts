import type { ResolvedConfig } from '../config.ts';
import type { AwsClients } from '../common/clients.ts';
import { childLogger, type Logger } from '../common/logger.ts';
import type { Lease } from '../leases/lease.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';
import type { RecordsPublisher } from '../retrieval/records-publisher.ts';
import { KinesisDataFetcher } from '../retrieval/polling/kinesis-data-fetcher.ts';
import { PrefetchRecordsPublisher } from '../retrieval/polling/prefetch-records-publisher.ts';
import { FanOutConsumerRegistration } from '../retrieval/fanout/consumer-registration.ts';
import { FanOutRecordsPublisher } from '../retrieval/fanout/fan-out-records-publisher.ts';
import { getRecordsShardEndProbe } from '../retrieval/fanout/shard-end-probe.ts';

export type RecordsPublisherFactory = (lease: Lease, start: ExtendedSequenceNumber) => RecordsPublisher;

/** Picks the retrieval mode once; the shard consumer only ever sees a RecordsPublisher. */
export function createRecordsPublisherFactory(config: ResolvedConfig, clients: AwsClients, logger: Logger, metrics: Metrics): RecordsPublisherFactory {
  const timestamp = typeof config.initialPosition === 'object' ? config.initialPosition.timestamp : undefined;
  const r = config.retrieval;
  if (r.mode === 'fanout') {
    // One registration per Scheduler, shared by every shard; started now so the consumer is (being)
    // created while the first leases are taken. Failures are logged and retried by the publishers.
    const registration = new FanOutConsumerRegistration(
      clients.kinesis,
      config.stream,
      r.consumerName,
      r.consumerArn,
      childLogger(logger, { component: 'FanOutConsumerRegistration' }),
    );
    registration.consumerArn().catch(() => undefined);
    return (lease, start) =>
      new FanOutRecordsPublisher({
        kinesis: clients.fanOutKinesis,
        consumer: registration,
        shardId: lease.leaseKey,
        start: { checkpoint: start, ...(timestamp ? { timestamp } : {}) },
        hashKeyRange: lease.hashKeyRange,
        // Unary calls, for servers that never end a closed shard's subscription (see shard-end-probe.ts).
        probeShardEnd: getRecordsShardEndProbe(new KinesisDataFetcher(clients.kinesis, config.stream, lease.leaseKey, 1)),
        logger: childLogger(logger, { component: 'FanOutRecordsPublisher', shardId: lease.leaseKey }),
        metrics,
      });
  }
  return (lease, start) =>
    new PrefetchRecordsPublisher(
      new KinesisDataFetcher(clients.kinesis, config.stream, lease.leaseKey, r.maxRecords),
      { checkpoint: start, ...(timestamp ? { timestamp } : {}) },
      lease.hashKeyRange,
      r,
      childLogger(logger, { component: 'PrefetchRecordsPublisher', shardId: lease.leaseKey }),
      metrics,
    );
}
