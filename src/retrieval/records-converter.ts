import type { _Record as KinesisRecord, ChildShard as KinesisChildShard } from '@aws-sdk/client-kinesis';
import type { ChildShard } from '../processor/shard-record-processor.ts';
import type { KinesisClientRecord } from './kinesis-client-record.ts';
import type { HashKeyRange } from '../leases/lease.ts';
import { compareExtended, type ExtendedSequenceNumber } from './extended-sequence-number.ts';
import { deaggregate } from './aggregation/index.ts';

/**
 * Turns the SDK's records into the processor's: de-aggregated (the data stays a view of the fetched
 * bytes) and without anything at or below `after`, so a resumed shard redelivers nothing checkpointed.
 */
export function toClientRecords(records: KinesisRecord[], hashKeyRange: HashKeyRange | undefined, after: ExtendedSequenceNumber | undefined): KinesisClientRecord[] {
  const out: KinesisClientRecord[] = [];
  for (const r of records) {
    const input = {
      data: r.Data ?? new Uint8Array(0),
      partitionKey: r.PartitionKey ?? '',
      sequenceNumber: r.SequenceNumber ?? '0',
      ...(r.ApproximateArrivalTimestamp ? { approximateArrivalTimestamp: r.ApproximateArrivalTimestamp } : {}),
      ...(r.EncryptionType ? { encryptionType: r.EncryptionType } : {}),
    };
    for (const user of deaggregate(input, hashKeyRange)) {
      if (after === undefined || compareExtended(user, after) > 0) out.push(user);
    }
  }
  return out;
}

/** The SDK's ChildShards as the processor sees them. */
export function toChildShards(children: KinesisChildShard[] | undefined): ChildShard[] {
  return (children ?? []).map((c) => ({
    shardId: c.ShardId!,
    parentShards: c.ParentShards ?? [],
    ...(c.HashKeyRange ? { hashKeyRange: { startingHashKey: c.HashKeyRange.StartingHashKey!, endingHashKey: c.HashKeyRange.EndingHashKey! } } : {}),
  }));
}
