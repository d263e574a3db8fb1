import type { GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import type { PublisherHooks, RecordsPublisher, RecordsRetrieved } from '../records-publisher.ts';
import { fetchForbidden } from '../fetch-permission.ts';
import { FailureStreak } from '../failure-streak.ts';
import type { KinesisDataFetcher, IteratorPosition } from './kinesis-data-fetcher.ts';
import { PollPacer } from './poll-pacer.ts';
import type { IdlePollClock } from './idle-poll-clock.ts';
import type { ExtendedSequenceNumber } from '../extended-sequence-number.ts';
import type { HashKeyRange } from '../aggregation/index.ts';
import { toChildShards, toClientRecords } from '../records-converter.ts';
import { isAbortError, pause, wakeable } from '../../common/backoff.ts';
import { errorFields, type Logger } from '../../common/logger.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { BUDGET_WAIT_METRIC, FIRST_PAGE_ESTIMATE_BYTES, ShardBudget, type ByteBudget, type ByteReservation } from '../byte-budget.ts';

export interface PrefetchOptions {
  idleTimeBetweenReadsMs: number;
  maxPendingBatches: number;
  maxPendingBytes: number;
  maxPendingRecords: number;
}

/** A batch waiting for the processor, with the bytes it holds against the worker's budget. */
interface Queued {
  batch: RecordsRetrieved;
  hold: ByteReservation | undefined;
}

/**
 * Polls one shard ahead of its processor (Java's PrefetchRecordsPublisher): fetches while the queue
 * is under every limit (batches, bytes, records; an empty queue always fetches), paces GetRecords
 * adaptively (`PollPacer`: at the read limit while records come, backing off to the idle interval on
 * empty pages), reopens expired iterators after the last record fetched, and backs off on
 * consecutive failures of any kind.
 *
 * With a worker's `ByteBudget` (a ts-kcl extension on top of Java's per-shard limits), each GetRecords
 * first reserves the size of the shard's last page (0 after an empty page, so idle shards never wait on
 * busy ones), the reservation becomes the page's real size when it arrives, and is released when the
 * processor takes the batch (or the publisher stops): the pages being fetched and the batches waiting
 * count against one worker-wide bound.
 */
export class PrefetchRecordsPublisher implements RecordsPublisher {
  private readonly queue: Queued[] = [];
  private readonly shardBudget: ShardBudget;
  private queuedBytes = 0;
  private queuedRecords = 0;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  private notifyConsumer: (() => void) | undefined;
  private notifyFetcher: (() => void) | undefined;
  private ended = false;
  /** Records at or below the starting checkpoint are dropped until the first one past it. */
  private filterAfter: ExtendedSequenceNumber | undefined;
  private readonly streak: FailureStreak;
  private positioned!: () => void;
  private readonly positionedPromise = new Promise<void>((resolve) => (this.positioned = resolve));

  constructor(
    private readonly fetcher: KinesisDataFetcher,
    private readonly start: { checkpoint: ExtendedSequenceNumber; timestamp?: Date },
    private readonly hashKeyRange: HashKeyRange | undefined,
    private readonly options: PrefetchOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly hooks: PublisherHooks = {},
    private readonly budget?: ByteBudget,
    /** The worker's: lines idle polls up with other shards' (see idle-poll-clock.ts). */
    private readonly idlePolls?: IdlePollClock,
  ) {
    this.filterAfter = start.checkpoint;
    this.shardBudget = new ShardBudget(budget, logger);
    this.streak = new FailureStreak(logger, (err) => hooks.reportError?.(err), { baseMs: Math.max(options.idleTimeBetweenReadsMs, 200), capMs: 30000 });
    // run() handles its own failures; this only keeps a bug in it from becoming an unhandled rejection.
    this.loop = this.run()
      .catch((err: unknown) => this.logger.error(errorFields(err), 'The retrieval loop failed unexpectedly'))
      .finally(() => this.positioned());
  }

  started(): Promise<void> {
    return this.positionedPromise;
  }

  async next(signal: AbortSignal): Promise<RecordsRetrieved> {
    for (;;) {
      const queued = this.queue.shift();
      if (queued) {
        const { batch } = queued;
        queued.hold?.release();
        this.queuedBytes -= batch.byteSize;
        this.queuedRecords -= batch.records.length;
        if (this.queue.length === 0) this.shardBudget.queueEmptied(); // nothing queued: this shard fetches past the budget
        this.notifyFetcher?.();
        return batch;
      }
      if (signal.aborted) throw signal.reason;
      await wakeable((wake) => (this.notifyConsumer = wake), signal);
      this.notifyConsumer = undefined;
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.notifyFetcher?.();
    await this.loop;
    // The batches are discarded with the publisher: their bytes go back to the worker's budget.
    for (const queued of this.queue) queued.hold?.release();
  }

  private hasRoom(): boolean {
    if (this.queue.length === 0) return true;
    return (
      this.queue.length < this.options.maxPendingBatches &&
      this.queuedBytes < this.options.maxPendingBytes &&
      this.queuedRecords < this.options.maxPendingRecords
    );
  }

  private push(batch: RecordsRetrieved, hold?: ByteReservation): void {
    this.queue.push({ batch, hold });
    this.queuedBytes += batch.byteSize;
    this.queuedRecords += batch.records.length;
    this.notifyConsumer?.();
  }

  private async waitForRoom(): Promise<void> {
    const signal = this.abort.signal;
    while (!this.hasRoom() && !signal.aborted) {
      await wakeable((wake) => (this.notifyFetcher = wake), signal);
      this.notifyFetcher = undefined;
    }
  }

  /**
   * Ends only on stop(), at the end of the shard, or when `mayFetch` says no. Every other failure, of
   * either call, is logged, counted, backed off (jittered, exponential, abortable) and retried.
   */
  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let position: IteratorPosition = { type: 'checkpoint', ...this.start };
    let iterator: string | undefined;
    let lastFetched: string | undefined;
    let lastCallStart = -Infinity;
    let expectedBytes = FIRST_PAGE_ESTIMATE_BYTES;
    const pacer = new PollPacer(this.options.idleTimeBetweenReadsMs);
    while (!signal.aborted && !this.ended) {
      await this.waitForRoom();
      await this.untilNextCall(pacer, lastCallStart, signal);
      if (signal.aborted || this.forbidden()) break;
      const scope = this.metrics.scope('ProcessTask', { ShardId: this.fetcher.shardId });
      let call = 'KinesisDataFetcher.getShardIterator';
      let callStart = performance.now();
      /** The page's bytes against the worker's budget: this loop's until queued with the batch. */
      let hold: ByteReservation | undefined;
      try {
        if (iterator === undefined) {
          iterator = await this.fetcher.getIterator(position, signal);
          scope.addSuccessAndLatency(call, true, callStart);
          this.positioned();
          if (iterator === undefined) {
            if (!this.forbidden()) this.endShard(); // a closed shard read to its end
            break;
          }
          if (this.forbidden()) break;
        }
        call = 'KinesisDataFetcher.getRecords';
        hold = await this.shardBudget.reserve(expectedBytes, this.queue.length === 0, signal, (ms) => scope.add(BUDGET_WAIT_METRIC, ms, 'Milliseconds'));
        if (this.forbidden()) break; // the wait for the budget may have been long
        callStart = lastCallStart = performance.now();
        const out = await this.fetcher.getRecords(iterator, signal);
        scope.addSuccessAndLatency(call, true, callStart);
        pacer.afterPage(out.Records?.length ?? 0, out.MillisBehindLatest ?? 0);
        // Converted before the iterator advances: a conversion failure retries this same page.
        call = 'ConvertRecords';
        const next = out.NextShardIterator;
        const batch = this.toBatch(out, next === undefined);
        hold?.resize(batch.byteSize); // may pass the budget: the page is in memory already
        expectedBytes = batch.byteSize;
        if (this.forbidden()) break;
        this.streak.succeed();
        const last = out.Records?.at(-1)?.SequenceNumber;
        if (last !== undefined) lastFetched = last;
        iterator = next;
        this.push(batch, hold);
        hold = undefined;
        if (iterator === undefined) this.ended = true;
      } catch (err) {
        hold?.release(); // not held through the backoff below
        if (isAbortError(err, signal)) break;
        if (call !== 'ConvertRecords') scope.addSuccessAndLatency(call, false, callStart);
        const name = err instanceof Error ? err.name : '';
        if (name === 'ResourceNotFoundException') {
          // The shard (or stream) is gone: its end, not a crash loop.
          this.logger.warn(errorFields(err), 'Shard not found; treating it as ended');
          if (!this.forbidden()) this.endShard();
          break;
        }
        const reopen = name === 'ExpiredIteratorException' || name === 'InvalidArgumentException';
        if (reopen && iterator !== undefined) {
          // Reopen after the last record fetched (nothing lost, nothing twice); an expired iterator at
          // once, but a reopen that keeps failing is backed off like everything else.
          position = lastFetched ? { type: 'after', sequenceNumber: lastFetched } : { type: 'checkpoint', ...this.start };
          iterator = undefined;
        }
        if (name === 'ExpiredIteratorException') scope.add('ExpiredIterator', 1, 'Count');
        await pause(this.failed(err, name, call, lastFetched), signal);
      } finally {
        hold?.release(); // aborted, failed or forbidden before the batch was queued
        scope.end();
      }
    }
  }

  /**
   * Waits out the pacer's spacing; a shard that has settled into idling on the worker's clock, to poll with
   * the others (also after a failure whose backoff ended before the spacing did: up to the pacer's slack later).
   */
  private async untilNextCall(pacer: PollPacer, lastCallStart: number, signal: AbortSignal): Promise<void> {
    const due = lastCallStart + pacer.spacing();
    const slack = pacer.slack();
    if (this.idlePolls && slack > 0 && due > performance.now()) return this.idlePolls.wait(due, slack, signal);
    // Node's timers count from the event loop's cached clock and can fire a little early: never before due.
    while (!signal.aborted && performance.now() < due) await pause(due - performance.now() + 1, signal);
  }

  /** Logs and reports one failure by its kind; returns the backoff before the next attempt. */
  private failed(err: unknown, name: string, call: string, lastFetched: string | undefined): number {
    if (name === 'ExpiredIteratorException') {
      return this.streak.fail(err, 'quiet', 'Shard iterator expired; reopening after the last record fetched', { lastFetched }, true);
    }
    if (name === 'ProvisionedThroughputExceededException' || name === 'LimitExceededException') {
      return this.streak.fail(err, 'quiet', `${call} throttled; backing off`);
    }
    return this.streak.fail(err, 'loud', `${call} failed; backing off and retrying`, { lastFetched });
  }

  /** The owner withdrew permission to fetch (its lease expired locally): stop for good, quietly. */
  private forbidden(): boolean {
    return fetchForbidden(this.hooks, this.abort, this.logger);
  }

  private endShard(): void {
    this.ended = true;
    this.push({ records: [], millisBehindLatest: 0, isAtShardEnd: true, childShards: [], cacheEntryTime: new Date(), byteSize: 0 });
  }

  private toBatch(out: GetRecordsCommandOutput, isAtShardEnd: boolean): RecordsRetrieved {
    const records = toClientRecords(out.Records ?? [], this.hashKeyRange, this.filterAfter);
    if (records.length > 0) this.filterAfter = undefined;
    let byteSize = 0;
    for (const r of out.Records ?? []) byteSize += r.Data?.length ?? 0;
    const batch: RecordsRetrieved = { records, millisBehindLatest: out.MillisBehindLatest ?? 0, isAtShardEnd, cacheEntryTime: new Date(), byteSize };
    if (out.ChildShards) batch.childShards = toChildShards(out.ChildShards);
    return batch;
  }
}
