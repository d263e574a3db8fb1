import type { KinesisClientRecord } from './kinesis-client-record.ts';
import type { ChildShard } from '../processor/shard-record-processor.ts';

/** One batch, ready for the processor. */
export interface RecordsRetrieved {
  /** De-aggregated, filtered against the starting checkpoint. */
  records: KinesisClientRecord[];
  millisBehindLatest: number;
  /** True on the last batch of a closed shard. */
  isAtShardEnd: boolean;
  childShards?: ChildShard[];
  /** When the batch entered the prefetch queue. */
  cacheEntryTime: Date;
  /** Payload bytes, for prefetch limits and DataBytesProcessed. */
  byteSize: number;
}

/**
 * How the shard consumer gets records, whatever the retrieval mode (polling or fan-out).
 * The lifecycle sees retrieval only through this interface.
 */
export interface RecordsPublisher {
  /** The next batch, waiting for one if needed; rejects with the signal's reason when it aborts. */
  next(signal: AbortSignal): Promise<RecordsRetrieved>;
  /** Stops fetching; pending batches are discarded. Idempotent. */
  stop(): Promise<void>;
  /**
   * Resolves once the starting position is fixed on the server (polling: the first shard iterator is
   * taken), or the publisher stopped. The processor is initialized after it, as in Java, so a record
   * put after `initialize()` is never behind a LATEST iterator taken later.
   */
  started?(): Promise<void>;
}

/** What a publisher is told by its owner, beside where to start. Retrieval knows nothing of leases. */
export interface PublisherHooks {
  /**
   * Checked right before every Kinesis call and before a batch is queued: false stops fetching for good
   * (nothing more is called or queued). The owner uses it for a lease that expired locally.
   */
  mayFetch?: () => boolean;
  /** A retrieval failure worth telling the application (once per failure streak, not per retry). */
  reportError?: (err: unknown) => void;
}
