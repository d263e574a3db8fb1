import type { KinesisClientRecord } from '../retrieval/kinesis-client-record.ts';
import type { ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';
import type { RecordProcessorCheckpointer } from '../checkpoint/checkpointer.ts';

/** A child of an ended shard, as Kinesis reports it. */
export interface ChildShard {
  shardId: string;
  parentShards: string[];
  hashKeyRange?: { startingHashKey: string; endingHashKey: string };
}

export interface InitializationInput {
  shardId: string;
  streamName: string;
  /** Where processing resumes: the stored checkpoint. */
  extendedSequenceNumber: ExtendedSequenceNumber;
  /** Set when a prepared checkpoint was left by an earlier owner. */
  pendingCheckpointSequenceNumber?: ExtendedSequenceNumber;
}

export interface ProcessRecordsInput {
  /** De-aggregated, in order; never records at or below the checkpoint. */
  records: KinesisClientRecord[];
  checkpointer: RecordProcessorCheckpointer;
  millisBehindLatest: number;
  isAtShardEnd: boolean;
  childShards?: ChildShard[];
  /** When the batch was fetched (prefetch). */
  cacheEntryTime?: Date;
  /** When it was handed to the processor. */
  cacheExitTime?: Date;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LeaseLostInput {}
export interface ShardEndedInput {
  checkpointer: RecordProcessorCheckpointer;
}
export interface ShutdownRequestedInput {
  checkpointer: RecordProcessorCheckpointer;
}

/**
 * The application's code for one shard lease. The KCL calls its methods one at a time, in order:
 * initialize, then processRecords for each batch, then exactly one of leaseLost, shardEnded or
 * shutdownRequested (a shutdownRequested is followed by leaseLost once the lease is released).
 */
export interface ShardRecordProcessor {
  initialize(input: InitializationInput): Promise<void> | void;
  processRecords(input: ProcessRecordsInput): Promise<void> | void;
  /** Another worker holds the lease now, or the worker stopped: checkpointing is no longer possible. */
  leaseLost(input: LeaseLostInput): Promise<void> | void;
  /** The shard is closed and fully read: call `input.checkpointer.checkpoint()` so its children can start. */
  shardEnded(input: ShardEndedInput): Promise<void> | void;
  /** Graceful shutdown: the lease is still held, so checkpoint here. */
  shutdownRequested(input: ShutdownRequestedInput): Promise<void> | void;
}

export type ShardRecordProcessorFactory = (shard: { shardId: string; streamName: string; streamArn?: string }) => ShardRecordProcessor;
