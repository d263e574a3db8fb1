import type { KinesisClientRecord } from '../retrieval/kinesis-client-record.ts';
import {
  SHARD_END,
  compareExtended,
  formatExtended,
  toExtendedSequenceNumber,
  type ExtendedSequenceNumber,
} from '../retrieval/extended-sequence-number.ts';
import { IllegalArgumentError, ShutdownException } from '../errors.ts';
import { Mutex } from '../common/mutex.ts';

/** The processor's handle for recording progress (Java's RecordProcessorCheckpointer). */
export interface RecordProcessorCheckpointer {
  /** Checkpoints after the last record delivered (or SHARD_END in shardEnded). */
  checkpoint(): Promise<void>;
  /** Checkpoints at this delivered record (its sub-sequence number included). */
  checkpoint(record: KinesisClientRecord): Promise<void>;
  /**
   * Checkpoints at a sequence number, which must lie between the last checkpoint and the largest
   * delivered record, else `IllegalArgumentError`. Rejects with `ShutdownException` once the lease is gone.
   */
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  /** Records a pending checkpoint after the last record delivered (two-phase: commit it later). */
  prepareCheckpoint(): Promise<PreparedCheckpointer>;
  /** Records a pending checkpoint at this delivered record. */
  prepareCheckpoint(record: KinesisClientRecord): Promise<PreparedCheckpointer>;
  /** Records a pending checkpoint at a sequence number, checked as `checkpoint` checks it. */
  prepareCheckpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<PreparedCheckpointer>;
}

/** A checkpoint recorded as pending (two-phase), to be committed with `checkpoint()`. */
export interface PreparedCheckpointer {
  /** The value that `checkpoint()` will store. */
  pendingCheckpoint(): ExtendedSequenceNumber;
  /** Commits the pending value as the checkpoint. */
  checkpoint(): Promise<void>;
}

/** Where checkpoints are persisted: the lease table, conditional on still holding the lease. */
export interface Checkpointer {
  setCheckpoint(leaseKey: string, checkpoint: ExtendedSequenceNumber, concurrencyToken: string): Promise<void>;
  prepareCheckpoint(leaseKey: string, pending: ExtendedSequenceNumber, concurrencyToken: string): Promise<void>;
}

type CheckpointArgs = [] | [KinesisClientRecord] | [string, number?] | [unknown, unknown?];

/**
 * One shard's checkpointer (Java's ShardRecordProcessorCheckpointer): validates the range
 * `lastCheckpoint <= value <= largest delivered`, turns the shard's last sequence number into
 * SHARD_END, and refuses everything once the lease is gone.
 */
export class ShardRecordProcessorCheckpointer implements RecordProcessorCheckpointer {
  private largestPermitted: ExtendedSequenceNumber;
  private sequenceNumberAtShardEnd: ExtendedSequenceNumber | undefined;
  private shutdownReason: string | undefined;
  /**
   * Checkpoints of one shard run one at a time, each validated against the value the previous one
   * stored: overlapping checkpoint(300) and checkpoint(100) store 300, then reject 100 as Java does.
   */
  private readonly writes = new Mutex();

  constructor(
    readonly shardId: string,
    private readonly persistence: Checkpointer,
    private readonly concurrencyToken: string,
    private lastCheckpoint: ExtendedSequenceNumber,
  ) {
    this.largestPermitted = lastCheckpoint;
  }

  get lastCheckpointValue(): ExtendedSequenceNumber {
    return this.lastCheckpoint;
  }

  /** Called as each batch is handed over: the processor may checkpoint up to here. */
  setLargestPermitted(value: ExtendedSequenceNumber): void {
    this.largestPermitted = value;
  }

  /** At shard end, `checkpoint()` (or the last sequence number) means SHARD_END. */
  markShardEnd(): void {
    if (this.largestPermitted.sequenceNumber !== SHARD_END.sequenceNumber) this.sequenceNumberAtShardEnd = this.largestPermitted;
    this.largestPermitted = SHARD_END;
  }

  /** After the lease is lost or the consumer shut down, every call fails with ShutdownException. */
  invalidate(reason: string): void {
    this.shutdownReason = reason;
  }

  checkpoint(): Promise<void>;
  checkpoint(record: KinesisClientRecord): Promise<void>;
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  async checkpoint(...args: CheckpointArgs): Promise<void> {
    this.assertUsable();
    this.target(args); // a malformed or out-of-range value fails at once, without waiting for the queue
    await this.writes.run(async () => {
      this.assertUsable();
      await this.write(this.target(args));
    });
  }

  prepareCheckpoint(): Promise<PreparedCheckpointer>;
  prepareCheckpoint(record: KinesisClientRecord): Promise<PreparedCheckpointer>;
  prepareCheckpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<PreparedCheckpointer>;
  async prepareCheckpoint(...args: CheckpointArgs): Promise<PreparedCheckpointer> {
    this.assertUsable();
    this.target(args);
    return this.writes.run(async () => {
      this.assertUsable();
      const pending = this.target(args);
      if (compareExtended(pending, this.lastCheckpoint) === 0) {
        return { pendingCheckpoint: () => pending, checkpoint: async () => {} }; // nothing to do, as Java
      }
      await this.persistence.prepareCheckpoint(this.shardId, pending, this.concurrencyToken);
      return { pendingCheckpoint: () => pending, checkpoint: () => this.checkpointPrepared(pending) };
    });
  }

  private checkpointPrepared(pending: ExtendedSequenceNumber): Promise<void> {
    return this.writes.run(async () => {
      this.assertUsable();
      this.assertInRange(pending);
      await this.write(pending);
    });
  }

  private assertUsable(): void {
    if (this.shutdownReason !== undefined) {
      throw new ShutdownException(`Can't checkpoint shard ${this.shardId}: ${this.shutdownReason}`);
    }
  }

  /** The value to store: validated, in range, and rewritten to SHARD_END when it is the shard's last. */
  private target(args: CheckpointArgs): ExtendedSequenceNumber {
    if (args.length === 0) return this.largestPermitted;
    const [first, second] = args;
    const value =
      typeof first === 'object' && first !== null && 'sequenceNumber' in first
        ? toExtendedSequenceNumber((first as KinesisClientRecord).sequenceNumber, (first as KinesisClientRecord).subSequenceNumber ?? 0)
        : toExtendedSequenceNumber(first, second ?? 0);
    this.assertInRange(value);
    const atEnd = this.sequenceNumberAtShardEnd;
    return atEnd && value.sequenceNumber === atEnd.sequenceNumber && value.subSequenceNumber >= atEnd.subSequenceNumber ? SHARD_END : value;
  }

  private assertInRange(value: ExtendedSequenceNumber): void {
    if (compareExtended(value, this.lastCheckpoint) < 0) {
      throw new IllegalArgumentError(
        `Could not checkpoint shard ${this.shardId} at ${formatExtended(value)}: it is below the last checkpoint ${formatExtended(this.lastCheckpoint)}`,
      );
    }
    if (compareExtended(value, this.largestPermitted) > 0) {
      throw new IllegalArgumentError(
        `Could not checkpoint shard ${this.shardId} at ${formatExtended(value)}: it is beyond the last record delivered ${formatExtended(this.largestPermitted)}`,
      );
    }
  }

  private async write(value: ExtendedSequenceNumber): Promise<void> {
    // Compared after the SHARD_END rewrite, so the shard's last record checkpointed earlier still ends it (Java #211).
    if (compareExtended(value, this.lastCheckpoint) === 0) return;
    await this.persistence.setCheckpoint(this.shardId, value, this.concurrencyToken);
    this.lastCheckpoint = value;
  }
}
