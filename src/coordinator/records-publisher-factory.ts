import type { ResolvedConfig } from '../config.ts';
import type { AwsClients } from '../common/clients.ts';
import { childLogger, type Logger } from '../common/logger.ts';
import type { Lease } from '../leases/lease.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';
import type { RecordsPublisher } from '../retrieval/records-publisher.ts';
import { KinesisDataFetcher } from '../retrieval/polling/kinesis-data-fetcher.ts';
import { PrefetchRecordsPublisher } from '../retrieval/polling/prefetch-records-publisher.ts';

export type RecordsPublisherFactory = (lease: Lease, start: ExtendedSequenceNumber) => RecordsPublisher;

/** Picks the retrieval mode once; the shard consumer only ever sees a RecordsPublisher. */
export function createRecordsPublisherFactory(config: ResolvedConfig, clients: AwsClients, logger: Logger, metrics: Metrics): RecordsPublisherFactory {
  const timestamp = typeof config.initialPosition === 'object' ? config.initialPosition.timestamp : undefined;
  const r = config.retrieval;
  if (r.mode === 'fanout') {
    throw new Error('Enhanced fan-out is not available yet: use retrieval: { mode: "polling" }');
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
