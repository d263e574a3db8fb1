import type { _Record as KinesisRecord, ChildShard as KinesisChildShard } from '@aws-sdk/client-kinesis';
import type { ChildShard } from '../processor/shard-record-processor.ts';
import type { KinesisClientRecord } from './kinesis-client-record.ts';
import type { HashKeyRange } from './aggregation/index.ts';
import { compareExtended, isSentinel, type ExtendedSequenceNumber } from './extended-sequence-number.ts';
import { deaggregate, hasMagic } from './aggregation/index.ts';

const EMPTY = new Uint8Array(0);
const EPOCH = new Date(0);

/**
 * Turns the SDK's records into the processor's: de-aggregated (the data stays a view of the fetched
 * bytes) and without anything at or below `after`, so a resumed shard redelivers nothing checkpointed.
 * This runs for every record, so plain records (the common case) take a path without intermediate
 * objects, and a sentinel start (TRIM_HORIZON, LATEST, AT_TIMESTAMP: below every record) filters nothing.
 */
export function toClientRecords(records: KinesisRecord[], hashKeyRange: HashKeyRange | undefined, after: ExtendedSequenceNumber | undefined): KinesisClientRecord[] {
  const filter = after === undefined || isSentinel(after.sequenceNumber) ? undefined : after;
  const out: KinesisClientRecord[] = [];
  for (const r of records) {
    const data = r.Data ?? EMPTY;
    if (data.length > 20 && hasMagic(data)) {
      pushAggregate(out, r, data, hashKeyRange, filter);
      continue;
    }
    const record: KinesisClientRecord = {
      data,
      partitionKey: r.PartitionKey ?? '',
      sequenceNumber: r.SequenceNumber ?? '0',
      subSequenceNumber: 0,
      aggregated: false,
      approximateArrivalTimestamp: r.ApproximateArrivalTimestamp ?? EPOCH,
    };
    if (r.EncryptionType !== undefined) record.encryptionType = r.EncryptionType;
    if (filter === undefined || compareExtended(record, filter) > 0) out.push(record);
  }
  return out;
}

function pushAggregate(out: KinesisClientRecord[], r: KinesisRecord, data: Uint8Array, hashKeyRange: HashKeyRange | undefined, filter: ExtendedSequenceNumber | undefined): void {
  const input = {
    data,
    partitionKey: r.PartitionKey ?? '',
    sequenceNumber: r.SequenceNumber ?? '0',
    ...(r.ApproximateArrivalTimestamp ? { approximateArrivalTimestamp: r.ApproximateArrivalTimestamp } : {}),
    ...(r.EncryptionType ? { encryptionType: r.EncryptionType } : {}),
  };
  for (const user of deaggregate(input, hashKeyRange)) {
    if (filter === undefined || compareExtended(user, filter) > 0) out.push(user);
  }
}

/** The SDK's ChildShards as the processor sees them. */
export function toChildShards(children: KinesisChildShard[] | undefined): ChildShard[] {
  return (children ?? []).map((c) => ({
    shardId: c.ShardId!,
    parentShards: c.ParentShards ?? [],
    ...(c.HashKeyRange ? { hashKeyRange: { startingHashKey: c.HashKeyRange.StartingHashKey!, endingHashKey: c.HashKeyRange.EndingHashKey! } } : {}),
  }));
}
