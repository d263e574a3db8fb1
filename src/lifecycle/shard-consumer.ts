import type { Lease } from '../leases/lease.ts';
import type { ShardRecordProcessor, ShardRecordProcessorFactory, ChildShard } from '../processor/shard-record-processor.ts';
import type { RecordsPublisher, RecordsRetrieved } from '../retrieval/records-publisher.ts';
import { ShardRecordProcessorCheckpointer, type Checkpointer } from '../checkpoint/checkpointer.ts';
import { SHARD_END, compareExtended, type ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';
import { blockingParent, waitsForMissingParents } from './block-on-parent.ts';
import { ConsumerState, ShutdownReason, canTransition, shutdownRank } from './consumer-states.ts';
import { backoffDelay, pause, wakeable } from '../common/backoff.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** What a shard consumer needs from the rest of the worker, as narrow callbacks. */
export interface ShardConsumerContext {
  streamName: string;
  /** Multi-stream mode: the stream's ARN when the application named it by ARN. */
  streamArn?: string;
  processorFactory: ShardRecordProcessorFactory;
  /** A consistent read of a lease (parents, the stored checkpoint). */
  getLease(leaseKey: string): Promise<Lease | undefined>;
  checkpointer: Checkpointer;
  /** `mayFetch` is checked before every Kinesis call: false stops retrieval for good. */
  createPublisher(start: ExtendedSequenceNumber, lease: Lease, hooks: { mayFetch: () => boolean }): RecordsPublisher;
  /** Whether this acquisition (its concurrency token) still holds the lease and it has not expired locally. */
  isLeaseHeld(concurrencyToken: string): boolean;
  /** Creates the children's leases and records them on the parent; called before shardEnded. */
  onShardEnd(lease: Lease, childShards: ChildShard[] | undefined): Promise<void>;
  /**
   * For a child that has not started and parents without a lease: returns the parents it need not wait
   * for (gone from the stream); the others get leases (through the shard sync), so the child waits.
   */
  resolveMissingParents(child: Lease, parentShardIds: string[]): Promise<string[]>;
  parentShardPollIntervalMs: number;
  taskBackoffTimeMs: number;
  callProcessRecordsEvenForEmptyRecordList: boolean;
  onProcessRecordsError: 'skip' | 'retry';
  logger: Logger;
  metrics: Metrics;
  /** Processor failures and lifecycle errors; never thrown into the loop. */
  reportError(err: unknown, shardId: string): void;
  reportShardEnded(shardId: string): void;
  /** The bytes of each batch read, for the lease's throughputKBps (KCL 3.x balances by it). */
  recordBytes?(bytes: number): void;
}

/**
 * Drives one shard lease through the consumer states (Java's ShardConsumer): one async loop,
 * processor methods called one at a time, and every processor failure contained here.
 */
export class ShardConsumer {
  state: ConsumerState = ConsumerState.WAITING_ON_PARENT_SHARDS;
  private reason: ShutdownReason | undefined;
  /** Aborted by lease loss or a shutdown request: interrupts waits and fetches, never a processor call. */
  private readonly stopping = new AbortController();
  /** Aborted only when the lease is lost: ends retries that need the lease (shard end). */
  private readonly leaseGone = new AbortController();
  private processor: ShardRecordProcessor | undefined;
  private checkpointer: ShardRecordProcessorCheckpointer | undefined;
  private childShards: ChildShard[] | undefined;
  private publisher: RecordsPublisher | undefined;
  private shutdownRequestedDone: (() => void) | undefined;
  readonly shardId: string;
  readonly done: Promise<void>;

  /** True once the consumer finished its shard (SHARD_END checkpointed): nothing is left for it to do. */
  get endedShard(): boolean {
    return this.state === ConsumerState.SHUTDOWN_COMPLETE && this.reason === ShutdownReason.SHARD_END;
  }

  constructor(
    private lease: Lease,
    private readonly concurrencyToken: string,
    private readonly ctx: ShardConsumerContext,
  ) {
    this.shardId = lease.leaseKey;
    this.done = this.run();
  }

  /** The lease is gone: stop after the processor call in progress, then leaseLost(). */
  leaseLost(): void {
    this.escalate(ShutdownReason.LEASE_LOST);
  }

  /** Graceful shutdown: resolves once shutdownRequested() has returned (or the consumer ended otherwise). */
  requestShutdown(): Promise<void> {
    if (this.state === ConsumerState.SHUTDOWN_COMPLETE) return Promise.resolve();
    const requested = new Promise<void>((resolve) => (this.shutdownRequestedDone = resolve));
    this.escalate(ShutdownReason.REQUESTED);
    return Promise.race([requested, this.done]);
  }

  private escalate(reason: ShutdownReason): void {
    if (this.reason !== undefined && shutdownRank[this.reason] >= shutdownRank[reason]) return;
    this.reason = reason;
    if (reason === ShutdownReason.LEASE_LOST) {
      this.checkpointer?.invalidate('the lease was lost');
      this.leaseGone.abort();
    }
    this.stopping.abort(new Error(`shutdown: ${reason}`));
  }

  private transition(to: ConsumerState): void {
    if (!canTransition(this.state, to)) throw new Error(`Illegal consumer transition ${this.state} -> ${to}`);
    this.ctx.logger.debug({ from: this.state, to }, 'Consumer state change');
    this.state = to;
  }

  private async run(): Promise<void> {
    try {
      if (await this.waitOnParents()) {
        this.transition(ConsumerState.INITIALIZING);
        if (await this.initialize()) {
          this.transition(ConsumerState.PROCESSING);
          await this.process();
        }
      }
      if (this.reason === ShutdownReason.REQUESTED && this.state === ConsumerState.PROCESSING) {
        this.transition(ConsumerState.SHUTDOWN_REQUESTED);
        await this.invoke('shutdownRequested', (p) => p.shutdownRequested({ checkpointer: this.checkpointer! }));
      }
      this.shutdownRequestedDone?.();
      this.transition(ConsumerState.SHUTTING_DOWN);
      await this.shutDown();
    } catch (err) {
      this.ctx.reportError(err, this.shardId);
    } finally {
      await this.publisher?.stop().catch(() => undefined);
      this.checkpointer?.invalidate('the shard consumer has shut down');
      this.state = ConsumerState.SHUTDOWN_COMPLETE;
      this.shutdownRequestedDone?.();
    }
  }

  /**
   * True when every parent has ended or is done without a lease; false when stopped while waiting.
   * A child that has not started waits for a lease-less parent that still exists (its lease is created).
   */
  private async waitOnParents(): Promise<boolean> {
    const gone = new Set<string>(); // lease-less parents found gone from the stream stay gone
    while (!this.stopping.signal.aborted) {
      const blocking = await this.blockingParent(gone);
      if (blocking === undefined) return true;
      this.ctx.logger.debug({ parentShardId: blocking }, 'Waiting for a parent shard to end');
      await pause(this.ctx.parentShardPollIntervalMs, this.stopping.signal);
    }
    return false;
  }

  private async blockingParent(gone: Set<string>): Promise<string | undefined> {
    const parents = new Map<string, Lease | undefined>();
    const strict = waitsForMissingParents(this.lease);
    try {
      for (const id of this.lease.parentShardIds) parents.set(id, await this.ctx.getLease(id));
      const missing = this.lease.parentShardIds.filter((id) => parents.get(id) === undefined && !gone.has(id));
      if (strict && missing.length > 0) for (const id of await this.ctx.resolveMissingParents(this.lease, missing)) gone.add(id);
    } catch (err) {
      this.ctx.logger.warn(errorFields(err), 'Could not read a parent lease or check a parent shard; will retry');
      return this.lease.parentShardIds[0];
    }
    return blockingParent(this.lease.parentShardIds, parents, strict ? gone : 'all');
  }

  /**
   * False once the lease expired locally or went to another acquisition: the consumer stops at once
   * (within the renewal window another worker may already hold it), before any further call or delivery.
   */
  private leaseHeld(): boolean {
    if (this.reason === ShutdownReason.LEASE_LOST) return false;
    if (this.ctx.isLeaseHeld(this.concurrencyToken)) return true;
    this.ctx.logger.info({}, 'Lease expired locally; stopping the shard before another delivery');
    this.escalate(ShutdownReason.LEASE_LOST);
    return false;
  }

  /**
   * Starts retrieval before the processor's initialize, as Java does: the starting position (a LATEST
   * iterator) is fixed first, so records put after initialize() are never skipped.
   */
  private async startRetrieval(): Promise<void> {
    if (this.lease.checkpoint.sequenceNumber === SHARD_END.sequenceNumber) return;
    this.publisher ??= this.ctx.createPublisher(this.lease.checkpoint, this.lease, { mayFetch: () => this.leaseHeld() });
    const started = this.publisher.started?.();
    if (started) await Promise.race([started, wakeable(() => undefined, this.stopping.signal)]);
  }

  /** Creates the processor and calls initialize with the stored checkpoint, retrying with backoff. */
  private async initialize(): Promise<boolean> {
    await this.startRetrieval();
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        // No re-read of the checkpoint (Java reads it again here): the lease was taken or renewed with a
        // write conditional on the counter it was read with, and every checkpoint bumps that counter,
        // so the checkpoint read with it is the current one.
        this.processor ??= this.ctx.processorFactory({ shardId: this.shardId, streamName: this.ctx.streamName, ...(this.ctx.streamArn !== undefined ? { streamArn: this.ctx.streamArn } : {}) });
        this.checkpointer = new ShardRecordProcessorCheckpointer(this.shardId, this.ctx.checkpointer, this.concurrencyToken, this.lease.checkpoint);
        if (this.stopping.signal.aborted) this.checkpointer.invalidate('the lease was lost');
        const started = performance.now();
        await this.processor.initialize({
          shardId: this.shardId,
          streamName: this.ctx.streamName,
          extendedSequenceNumber: this.lease.checkpoint,
          ...(this.lease.pendingCheckpoint ? { pendingCheckpointSequenceNumber: this.lease.pendingCheckpoint } : {}),
        });
        this.ctx.metrics.scope('InitializeTask', { ShardId: this.shardId }).add('RecordProcessor.initialize.Time', performance.now() - started, 'Milliseconds').end();
        return true;
      } catch (err) {
        this.ctx.logger.error({ attempt, ...errorFields(err) }, 'Initializing the shard consumer failed; retrying');
        this.ctx.reportError(err, this.shardId);
        await pause(backoffDelay(attempt, this.ctx.taskBackoffTimeMs, 30000), this.stopping.signal);
      }
    }
    return false;
  }

  private async process(): Promise<void> {
    if (this.lease.checkpoint.sequenceNumber === SHARD_END.sequenceNumber) {
      this.escalate(ShutdownReason.SHARD_END); // ended under an earlier owner: only the children remain to create
      return;
    }
    const publisher = this.publisher!;
    try {
      while (!this.stopping.signal.aborted) {
        let batch: RecordsRetrieved;
        try {
          batch = await publisher.next(this.stopping.signal);
        } catch (err) {
          if (this.stopping.signal.aborted) return;
          throw err;
        }
        if (!this.leaseHeld()) return;
        await this.deliver(batch);
        if (batch.isAtShardEnd) {
          this.childShards = batch.childShards;
          this.escalate(ShutdownReason.SHARD_END);
        }
      }
    } finally {
      // Fetching (or the fan-out subscription) stops with the processing, before the shutdown calls,
      // so a new owner's subscription is not refused while this processor finishes.
      await publisher.stop();
    }
  }

  private async deliver(batch: RecordsRetrieved): Promise<void> {
    const last = batch.records.at(-1);
    if (last) this.checkpointer!.setLargestPermitted({ sequenceNumber: last.sequenceNumber, subSequenceNumber: last.subSequenceNumber });
    let bytes = 0;
    for (const r of batch.records) bytes += r.data.length;
    this.ctx.recordBytes?.(bytes);
    if (batch.records.length === 0 && !this.ctx.callProcessRecordsEvenForEmptyRecordList) return;
    const scope = this.ctx.metrics.scope('ProcessTask', { ShardId: this.shardId });
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      const ok = await this.invoke('processRecords', (p) =>
        p.processRecords({
          records: batch.records,
          checkpointer: this.checkpointer!,
          millisBehindLatest: batch.millisBehindLatest,
          isAtShardEnd: batch.isAtShardEnd,
          ...(batch.childShards ? { childShards: batch.childShards } : {}),
          cacheEntryTime: batch.cacheEntryTime,
          cacheExitTime: new Date(),
        }),
      );
      if (ok || this.ctx.onProcessRecordsError === 'skip') {
        if (!ok) this.ctx.logger.warn({ records: batch.records.length, first: batch.records[0]?.sequenceNumber }, 'Skipped a batch whose processRecords threw (onProcessRecordsError: skip)');
        break;
      }
      if (this.stopping.signal.aborted) break; // not checkpointed: the next owner gets the batch again
      await pause(backoffDelay(attempt, this.ctx.taskBackoffTimeMs, 30000), this.stopping.signal);
      if (this.stopping.signal.aborted || !this.leaseHeld()) break;
    }
    scope
      .add('RecordsProcessed', batch.records.length, 'Count', 'SUMMARY')
      .add('DataBytesProcessed', bytes, 'Bytes', 'SUMMARY')
      .add('MillisBehindLatest', batch.millisBehindLatest, 'Milliseconds', 'SUMMARY')
      .add('RecordProcessor.processRecords.Time', performance.now() - started, 'Milliseconds')
      .end();
  }

  private async shutDown(): Promise<void> {
    if (this.reason === ShutdownReason.SHARD_END) return this.endShard();
    this.checkpointer?.invalidate('the lease was lost or released');
    if (this.processor) await this.invoke('leaseLost', (p) => p.leaseLost({}));
  }

  /**
   * Creates the children's leases, then has the processor checkpoint SHARD_END. A processor that does
   * not checkpoint is asked again after a backoff (as the Java KCL retries), so children stay blocked
   * rather than losing the parent's tail.
   */
  private async endShard(): Promise<void> {
    const cp = this.checkpointer!;
    cp.markShardEnd();
    for (let attempt = 0; ; attempt++) {
      if (this.reason === ShutdownReason.LEASE_LOST) {
        cp.invalidate('the lease was lost');
        await this.invoke('leaseLost', (p) => p.leaseLost({}));
        return;
      }
      try {
        await this.ctx.onShardEnd(this.lease, this.childShards);
        if (compareExtended(cp.lastCheckpointValue, SHARD_END) !== 0) {
          await this.invoke('shardEnded', (p) => p.shardEnded({ checkpointer: cp }));
        }
        if (compareExtended(cp.lastCheckpointValue, SHARD_END) === 0) {
          this.ctx.reportShardEnded(this.shardId);
          return;
        }
        this.ctx.logger.error({ attempt }, "Application didn't checkpoint at end of shard: call checkpointer.checkpoint() in shardEnded; retrying");
      } catch (err) {
        this.ctx.logger.warn({ attempt, ...errorFields(err) }, 'Shard end handling failed; retrying');
      }
      await pause(backoffDelay(attempt, this.ctx.taskBackoffTimeMs, 30000), this.leaseGone.signal);
    }
  }

  /** Calls a processor method; a throw is logged and reported, never propagated. */
  private async invoke(method: string, call: (p: ShardRecordProcessor) => Promise<void> | void): Promise<boolean> {
    try {
      await call(this.processor!);
      return true;
    } catch (err) {
      this.ctx.logger.error({ method, ...errorFields(err) }, `Record processor's ${method} threw`);
      this.ctx.reportError(err, this.shardId);
      return false;
    }
  }
}
