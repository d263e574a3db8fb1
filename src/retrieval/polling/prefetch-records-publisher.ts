import type { GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import type { RecordsPublisher, RecordsRetrieved } from '../records-publisher.ts';
import type { KinesisDataFetcher, IteratorPosition } from './kinesis-data-fetcher.ts';
import type { ExtendedSequenceNumber } from '../extended-sequence-number.ts';
import type { HashKeyRange } from '../aggregation/index.ts';
import { toChildShards, toClientRecords } from '../records-converter.ts';
import { backoffDelay, isAbortError, pause, wakeable } from '../../common/backoff.ts';
import { errorFields, type Logger } from '../../common/logger.ts';
import type { Metrics } from '../../metrics/metrics.ts';

export interface PrefetchOptions {
  idleTimeBetweenReadsMs: number;
  maxPendingBatches: number;
  maxPendingBytes: number;
  maxPendingRecords: number;
}

/**
 * Polls one shard ahead of its processor (Java's PrefetchRecordsPublisher): fetches while the queue
 * is under every limit (batches, bytes, records; an empty queue always fetches), never calls
 * GetRecords more than once per idle interval, reopens expired iterators after the last record
 * fetched, and backs off when throttled.
 */
export class PrefetchRecordsPublisher implements RecordsPublisher {
  private readonly queue: RecordsRetrieved[] = [];
  private queuedBytes = 0;
  private queuedRecords = 0;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  private notifyConsumer: (() => void) | undefined;
  private notifyFetcher: (() => void) | undefined;
  private ended = false;
  /** Records at or below the starting checkpoint are dropped until the first one past it. */
  private filterAfter: ExtendedSequenceNumber | undefined;

  constructor(
    private readonly fetcher: KinesisDataFetcher,
    private readonly start: { checkpoint: ExtendedSequenceNumber; timestamp?: Date },
    private readonly hashKeyRange: HashKeyRange | undefined,
    private readonly options: PrefetchOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.filterAfter = start.checkpoint;
    this.loop = this.run();
  }

  async next(signal: AbortSignal): Promise<RecordsRetrieved> {
    for (;;) {
      const batch = this.queue.shift();
      if (batch) {
        this.queuedBytes -= batch.byteSize;
        this.queuedRecords -= batch.records.length;
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
  }

  private hasRoom(): boolean {
    if (this.queue.length === 0) return true;
    return (
      this.queue.length < this.options.maxPendingBatches &&
      this.queuedBytes < this.options.maxPendingBytes &&
      this.queuedRecords < this.options.maxPendingRecords
    );
  }

  private push(batch: RecordsRetrieved): void {
    this.queue.push(batch);
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

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let position: IteratorPosition = { type: 'checkpoint', ...this.start };
    let iterator: string | undefined;
    let lastFetched: string | undefined;
    let failures = 0;
    let lastCallStart = -Infinity;
    while (!signal.aborted && !this.ended) {
      await this.waitForRoom();
      // At most one GetRecords per idle interval: real Kinesis allows 5 reads per second per shard.
      await pause(this.options.idleTimeBetweenReadsMs - (performance.now() - lastCallStart), signal);
      if (signal.aborted) break;
      const scope = this.metrics.scope('ProcessTask', { ShardId: this.fetcher.shardId });
      try {
        if (iterator === undefined) {
          const start = performance.now();
          iterator = await this.fetcher.getIterator(position, signal);
          scope.addSuccessAndLatency('KinesisDataFetcher.getShardIterator', true, start);
          if (iterator === undefined) {
            this.endShard(); // a closed shard read to its end
            break;
          }
        }
        lastCallStart = performance.now();
        const out = await this.fetcher.getRecords(iterator, signal);
        scope.addSuccessAndLatency('KinesisDataFetcher.getRecords', true, lastCallStart);
        failures = 0;
        const last = out.Records?.at(-1)?.SequenceNumber;
        if (last !== undefined) lastFetched = last;
        iterator = out.NextShardIterator;
        this.push(this.toBatch(out, iterator === undefined));
        if (iterator === undefined) this.ended = true;
      } catch (err) {
        if (isAbortError(err, signal)) break;
        const name = err instanceof Error ? err.name : '';
        if (name === 'ResourceNotFoundException') {
          // The shard (or stream) is gone: its end, not a crash loop.
          this.logger.warn(errorFields(err), 'Shard not found; treating it as ended');
          this.endShard();
          break;
        }
        if (name === 'ExpiredIteratorException' || name === 'InvalidArgumentException') {
          scope.add('ExpiredIterator', 1, 'Count');
          this.logger.info({ lastFetched }, 'Shard iterator expired; reopening after the last record fetched');
          position = lastFetched ? { type: 'after', sequenceNumber: lastFetched } : { type: 'checkpoint', ...this.start };
          iterator = undefined;
        } else {
          const throttled = name === 'ProvisionedThroughputExceededException' || name === 'LimitExceededException';
          this.logger[throttled ? 'info' : 'warn'](errorFields(err), throttled ? 'GetRecords throttled; backing off' : 'GetRecords failed; retrying');
          scope.addSuccessAndLatency('KinesisDataFetcher.getRecords', false, lastCallStart);
          await pause(backoffDelay(failures++, Math.max(this.options.idleTimeBetweenReadsMs, 200), 30000), signal);
        }
      } finally {
        scope.end();
      }
    }
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
