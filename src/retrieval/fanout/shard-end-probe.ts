import type { KinesisDataFetcher } from '../polling/kinesis-data-fetcher.ts';
import type { ChildShard } from '../../processor/shard-record-processor.ts';
import { toChildShards } from '../records-converter.ts';

/** Whether a shard is closed and read to its end after `sequenceNumber`: its children if so, else undefined. */
export type ShardEndProbe = (afterSequenceNumber: string, signal: AbortSignal) => Promise<ChildShard[] | undefined>;

/** GetRecords calls per probe: a closed shard can answer a few empty pages before its end. */
const MAX_PAGES = 3;

/**
 * The fallback that ends a closed shard when its subscription never says so. Kinesis marks the end of a
 * closed shard with an event without ContinuationSequenceNumber; kinesis-local never does, it keeps
 * sending empty events. While a subscription is idle at the tip, the publisher asks now and then (with a
 * growing interval): an AFTER_SEQUENCE_NUMBER iterator at the last continuation and GetRecords (Limit 1)
 * until a page has records (not the end: the subscription delivers them), or has no NextShardIterator
 * (the end, with its ChildShards, as polling sees it).
 */
export function getRecordsShardEndProbe(fetcher: KinesisDataFetcher): ShardEndProbe {
  return async (afterSequenceNumber, signal) => {
    let iterator = await fetcher.getIterator({ type: 'after', sequenceNumber: afterSequenceNumber }, signal);
    if (iterator === undefined) return [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await fetcher.getRecords(iterator, signal);
      if ((out.Records?.length ?? 0) > 0) return undefined;
      if (out.NextShardIterator === undefined) return toChildShards(out.ChildShards);
      iterator = out.NextShardIterator;
    }
    return undefined;
  };
}
