import type { KinesisClientRecord } from '../retrieval/kinesis-client-record.ts';
import type { ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';
import type { RecordProcessorCheckpointer } from '../checkpoint/checkpointer.ts';

/** A child of an ended shard, as Kinesis reports it. */
export interface ChildShard {
  /** The child's shard id. */
  shardId: string;
  /** Its parents: one after a split, two after a merge. */
  parentShards: string[];
  /** The hash keys it covers, when Kinesis reports them. */
  hashKeyRange?: {
    /** The lowest hash key, a decimal string. */
    startingHashKey: string;
    /** The highest hash key, a decimal string. */
    endingHashKey: string;
  };
}

/** What `initialize` gets: the shard and where processing resumes. */
export interface InitializationInput {
  /** The shard this processor owns. */
  shardId: string;
  /** The stream the shard belongs to. */
  streamName: string;
  /** Where processing resumes: the stored checkpoint. */
  extendedSequenceNumber: ExtendedSequenceNumber;
  /** Set when a prepared checkpoint was left by an earlier owner. */
  pendingCheckpointSequenceNumber?: ExtendedSequenceNumber;
}

/** What `processRecords` gets: one batch of records and the shard's checkpointer. */
export interface ProcessRecordsInput {
  /** De-aggregated, in order; never records at or below the checkpoint. */
  records: KinesisClientRecord[];
  /** Records progress for this shard. */
  checkpointer: RecordProcessorCheckpointer;
  /** How far behind the stream's tip this batch is, in milliseconds (GetRecords' MillisBehindLatest). */
  millisBehindLatest: number;
  /** True for the shard's last batch: `shardEnded` follows. */
  isAtShardEnd: boolean;
  /** The shard's children, on the last batch of a shard that was split or merged. */
  childShards?: ChildShard[];
  /** When the batch was fetched (prefetch). */
  cacheEntryTime?: Date;
  /** When it was handed to the processor. */
  cacheExitTime?: Date;
}

/** What `leaseLost` gets: nothing, as in the Java KCL (there is no checkpointer to use). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LeaseLostInput {}
/** What `shardEnded` gets: the checkpointer, to checkpoint SHARD_END. */
export interface ShardEndedInput {
  /** `checkpoint()` here stores SHARD_END, which lets the children start. */
  checkpointer: RecordProcessorCheckpointer;
}
/** What `shutdownRequested` gets: the checkpointer, while the lease is still held. */
export interface ShutdownRequestedInput {
  /** Checkpoint here to lose nothing on a graceful shutdown. */
  checkpointer: RecordProcessorCheckpointer;
}

/**
 * The application's code for one shard lease. The KCL calls its methods one at a time, in order:
 * initialize, then processRecords for each batch, then exactly one of leaseLost, shardEnded or
 * shutdownRequested (a shutdownRequested is followed by leaseLost once the lease is released).
 */
export interface ShardRecordProcessor {
  /** Called once, before any records: where processing resumes. */
  initialize(input: InitializationInput): Promise<void> | void;
  /** Called for each batch, in order; checkpoint through `input.checkpointer`. A throw is logged and, by default, skips the batch. */
  processRecords(input: ProcessRecordsInput): Promise<void> | void;
  /** Another worker holds the lease now, or the worker stopped: checkpointing is no longer possible. */
  leaseLost(input: LeaseLostInput): Promise<void> | void;
  /** The shard is closed and fully read: call `input.checkpointer.checkpoint()` so its children can start. */
  shardEnded(input: ShardEndedInput): Promise<void> | void;
  /** Graceful shutdown: the lease is still held, so checkpoint here. */
  shutdownRequested(input: ShutdownRequestedInput): Promise<void> | void;
}

/**
 * Creates the processor for one shard lease; called each time this worker takes a lease. In multi-stream
 * mode `streamName` names the shard's stream (and `streamArn` is set when the application named it by ARN).
 */
export type ShardRecordProcessorFactory = (shard: { shardId: string; streamName: string; streamArn?: string }) => ShardRecordProcessor;
