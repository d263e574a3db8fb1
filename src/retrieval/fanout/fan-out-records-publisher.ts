import {
  SubscribeToShardCommand,
  type KinesisClient,
  type StartingPosition,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import type { PublisherHooks, RecordsPublisher, RecordsRetrieved } from '../records-publisher.ts';
import { fetchForbidden } from '../fetch-permission.ts';
import { FailureStreak } from '../failure-streak.ts';
import { RequestTimeoutError } from '../../common/deadline.ts';
import type { ExtendedSequenceNumber } from '../extended-sequence-number.ts';
import type { HashKeyRange } from '../aggregation/index.ts';
import type { ChildShard } from '../../processor/shard-record-processor.ts';
import { toChildShards, toClientRecords } from '../records-converter.ts';
import type { ShardEndProbe } from './shard-end-probe.ts';
import { pause, wakeable } from '../../common/backoff.ts';
import { errorFields, type Logger } from '../../common/logger.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { BUDGET_WAIT_METRIC, FIRST_PAGE_ESTIMATE_BYTES, ShardBudget, type ByteBudget, type ByteReservation } from '../byte-budget.ts';

export interface FanOutOptions {
  /** Events waiting for the processor; while the queue is full the subscription is not read (HTTP/2 flow control holds the service). */
  maxPendingBatches: number;
  /**
   * Java MAX_TIME_BETWEEN_REQUEST_RESPONSE = 60 s: a subscription that sends nothing this long while an
   * event is awaited is restarted. Time the queue is full does not count.
   */
  maxTimeBetweenEventsMs: number;
  /**
   * Deadline for SubscribeToShard's initial response (Java kinesisRequestTimeout = 30 s): a request that is
   * accepted and never answered fails and is retried with backoff. After the response, the silence timer rules.
   */
  requestTimeoutMs: number;
  /** Base of the jittered, capped exponential backoff before resubscribing after a failure. */
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  /**
   * For servers that never end a closed shard's subscription (kinesis-local): after this long idle at the
   * tip (empty events, no records), probe whether the shard is closed and read; the interval doubles up to
   * `maxShardEndProbeIntervalMs` while the shard stays open and idle, and resets when records arrive.
   */
  shardEndProbeIntervalMs: number;
  maxShardEndProbeIntervalMs: number;
}

export const DEFAULT_FAN_OUT_OPTIONS: Readonly<FanOutOptions> = Object.freeze({
  maxPendingBatches: 3,
  maxTimeBetweenEventsMs: 60000,
  requestTimeoutMs: 30000,
  retryBackoffMs: 1000,
  maxRetryBackoffMs: 30000,
  shardEndProbeIntervalMs: 2000,
  maxShardEndProbeIntervalMs: 300000,
});

/** Where the consumer ARN comes from: a FanOutConsumerRegistration shared by every shard of a worker. */
export interface ConsumerArnSource {
  consumerArn(signal: AbortSignal): Promise<string>;
  /** The service no longer knows this ARN: describe (and register) again on the next call. */
  forget(staleArn: string): void;
}

export interface FanOutPublisherDeps {
  /** The client for SubscribeToShard (HTTP/2). */
  kinesis: KinesisClient;
  consumer: ConsumerArnSource;
  shardId: string;
  start: { checkpoint: ExtendedSequenceNumber; timestamp?: Date };
  hashKeyRange: HashKeyRange | undefined;
  /** Ends a closed shard whose subscription never says so; see FanOutOptions.shardEndProbeIntervalMs. */
  probeShardEnd?: ShardEndProbe;
  logger: Logger;
  metrics: Metrics;
  /** `mayFetch` before every subscription, probe and event queued; `reportError` once per failure streak. */
  hooks?: PublisherHooks;
  options?: Partial<FanOutOptions>;
  /** The worker's bound on record bytes in retrieval, shared with every other shard. */
  budget?: ByteBudget;
}

/** A batch waiting for the processor, with the bytes it holds against the worker's budget. */
interface Queued {
  batch: RecordsRetrieved;
  hold: ByteReservation | undefined;
}

/** How one subscription ended. */
type Outcome =
  | { kind: 'stopped' }
  | { kind: 'shardEnd' }
  | { kind: 'completed'; events: number }
  | { kind: 'silent'; events: number }
  | { kind: 'failed'; events: number; error: unknown };

const errorName = (err: unknown): string => (err instanceof Error ? err.name : '');

/**
 * Enhanced fan-out for one shard (Java's FanOutRecordsPublisher): SubscribeToShard through the SDK's
 * event stream, one batch per SubscribeToShardEvent, behind the same pull interface as polling.
 *
 * - Starts at the checkpoint (AT_SEQUENCE_NUMBER, records at or below it filtered out as polling does;
 *   sentinels map to TRIM_HORIZON / LATEST / AT_TIMESTAMP) and resubscribes AFTER_SEQUENCE_NUMBER the
 *   last event's ContinuationSequenceNumber when a subscription ends (the service ends each after 5 min).
 * - An event without a continuation is the end of a closed shard: delivered with `isAtShardEnd` and its
 *   ChildShards. Servers that never send one (kinesis-local) are caught by an occasional GetRecords probe
 *   while the subscription idles at the tip (see shard-end-probe.ts).
 * - Backpressure: at most `maxPendingBatches` events wait for the processor; the event stream is not read
 *   while the queue is full (Java requests one event at a time), nor while the worker's byte budget has no
 *   room for an event the size of the last (a ts-kcl extension; the event's real size is held until the
 *   processor takes it).
 * - Faults: silence for `maxTimeBetweenEventsMs` restarts the subscription; ResourceInUse (an older
 *   subscription still open), throttling and network errors back off with jitter and resubscribe from the
 *   last continuation; ResourceNotFound re-checks the consumer and otherwise ends the shard (as Java does);
 *   `stop()` aborts the subscription at once.
 */
export class FanOutRecordsPublisher implements RecordsPublisher {
  private readonly queue: Queued[] = [];
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  private notifyConsumer: (() => void) | undefined;
  private notifyReader: (() => void) | undefined;
  /** Records at or below the starting checkpoint are dropped until the first one past it. */
  private filterAfter: ExtendedSequenceNumber | undefined;
  /** Where the next subscription starts: the checkpoint, then after the last event's continuation. */
  private position: StartingPosition;
  private readonly options: FanOutOptions;
  private readonly kinesis: KinesisClient;
  private readonly consumer: ConsumerArnSource;
  readonly shardId: string;
  private readonly hashKeyRange: HashKeyRange | undefined;
  private readonly probeShardEnd: ShardEndProbe | undefined;
  private probeInterval: number;
  private nextProbeAt: number;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly hooks: PublisherHooks;
  private readonly streak: FailureStreak;
  private readonly shardBudget: ShardBudget;
  /** What the next event is expected to weigh: the last one's bytes (0 after an empty one). */
  private expectedBytes = FIRST_PAGE_ESTIMATE_BYTES;

  constructor(deps: FanOutPublisherDeps) {
    this.options = { ...DEFAULT_FAN_OUT_OPTIONS, ...deps.options };
    this.kinesis = deps.kinesis;
    this.consumer = deps.consumer;
    this.shardId = deps.shardId;
    this.hashKeyRange = deps.hashKeyRange;
    this.probeShardEnd = deps.probeShardEnd;
    this.logger = deps.logger;
    this.metrics = deps.metrics;
    this.hooks = deps.hooks ?? {};
    this.shardBudget = new ShardBudget(deps.budget, this.logger);
    this.streak = new FailureStreak(this.logger, (err) => this.hooks.reportError?.(err), { baseMs: this.options.retryBackoffMs, capMs: this.options.maxRetryBackoffMs });
    this.filterAfter = deps.start.checkpoint;
    this.position = startingPosition(deps.start.checkpoint, deps.start.timestamp);
    this.probeInterval = this.options.shardEndProbeIntervalMs;
    this.nextProbeAt = performance.now() + this.probeInterval;
    // run() handles its own failures; this only keeps a bug in it from becoming an unhandled rejection.
    this.loop = this.run().catch((err: unknown) => this.logger.error(errorFields(err), 'The retrieval loop failed unexpectedly'));
  }

  async next(signal: AbortSignal): Promise<RecordsRetrieved> {
    for (;;) {
      const queued = this.queue.shift();
      if (queued) {
        queued.hold?.release();
        if (this.queue.length === 0) this.shardBudget.queueEmptied(); // nothing queued: this shard reads past the budget
        this.notifyReader?.();
        return queued.batch;
      }
      if (signal.aborted) throw signal.reason;
      await wakeable((wake) => (this.notifyConsumer = wake), signal);
      this.notifyConsumer = undefined;
    }
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('the records publisher was stopped'));
    this.notifyReader?.();
    await this.loop;
    // The batches are discarded with the publisher: their bytes go back to the worker's budget.
    for (const queued of this.queue) queued.hold?.release();
  }

  private push(batch: RecordsRetrieved, hold?: ByteReservation): void {
    this.queue.push({ batch, hold });
    this.notifyConsumer?.();
  }

  private async waitForRoom(): Promise<void> {
    const signal = this.abort.signal;
    while (this.queue.length >= this.options.maxPendingBatches && !signal.aborted) {
      await wakeable((wake) => (this.notifyReader = wake), signal);
      this.notifyReader = undefined;
    }
  }

  /** Ends only on stop(), at the end of the shard, or when `mayFetch` says no; every failure is backed off and retried. */
  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const backOff = (err: unknown, message: string, quiet = false): Promise<void> =>
      pause(this.streak.fail(err, quiet ? 'quiet' : 'loud', message, { position: this.position }), signal);
    while (!signal.aborted && !this.forbidden()) {
      let consumerArn: string;
      try {
        consumerArn = await this.consumer.consumerArn(signal);
      } catch (err) {
        if (signal.aborted) break;
        await backOff(err, 'Could not find or register the stream consumer for enhanced fan-out; retrying');
        continue;
      }
      const outcome = await this.subscribe(consumerArn);
      if (outcome.kind === 'stopped' || outcome.kind === 'shardEnd') break;
      if (outcome.events > 0) this.streak.succeed();
      switch (outcome.kind) {
        case 'completed':
          // The service ends every subscription after 5 minutes (a dropped connection looks the same to the
          // SDK's event stream): go on from the last continuation at once.
          this.logger.debug({ events: outcome.events, position: this.position }, 'Subscription ended; resubscribing');
          if (outcome.events === 0) await backOff(new Error('the subscription ended without an event'), 'Subscription ended at once; backing off', true); // never spin
          break;
        case 'silent':
          // Backed off like any failure: a shard whose subscriptions keep falling silent warns once per streak.
          await backOff(new Error(`no event for ${this.options.maxTimeBetweenEventsMs} ms`), 'No event from the subscription in time; restarting it');
          break;
        case 'failed':
          if (errorName(outcome.error) === 'ResourceNotFoundException' && (await this.shardGone(consumerArn, outcome.error))) return;
          await this.backOffAfter(outcome.error);
          break;
      }
    }
  }

  /** One SubscribeToShard, read until it ends, fails, falls silent or the publisher stops. */
  private async subscribe(consumerArn: string): Promise<Outcome> {
    const stopped = this.abort.signal;
    if (stopped.aborted) return { kind: 'stopped' };
    const subscription = new AbortController();
    const onStop = (): void => subscription.abort(stopped.reason);
    stopped.addEventListener('abort', onStop, { once: true });
    let silent = false;
    let unanswered = false;
    let timer: NodeJS.Timeout | undefined;
    const expectResponse = (): void => {
      timer = setTimeout(() => {
        unanswered = true;
        subscription.abort(new RequestTimeoutError(`SubscribeToShard on ${this.shardId} got no answer within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
    };
    const expectEvent = (): void => {
      timer = setTimeout(() => {
        silent = true;
        subscription.abort(new Error(`no event for ${this.options.maxTimeBetweenEventsMs} ms`));
      }, this.options.maxTimeBetweenEventsMs);
    };
    const started = performance.now();
    const measure = (success: boolean): void =>
      this.metrics.scope('ProcessTask', { ShardId: this.shardId }).addSuccessAndLatency('SubscribeToShard', success, started).end();
    let responded = false;
    let events = 0;
    let iterator: AsyncIterator<SubscribeToShardEventStream> | undefined;
    /** The next event's bytes against the worker's budget: this subscription's until queued with its batch. */
    let hold: ByteReservation | undefined;
    this.logger.debug({ position: this.position }, 'Subscribing to the shard');
    try {
      expectResponse();
      const out = await this.kinesis.send(
        new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: this.shardId, StartingPosition: this.position }),
        { abortSignal: subscription.signal },
      );
      responded = true;
      clearTimeout(timer);
      measure(true);
      if (!out.EventStream) throw new Error('SubscribeToShard returned no event stream');
      iterator = out.EventStream[Symbol.asyncIterator]();
      for (;;) {
        // The worker's pace, not the service's: before the silence timer.
        hold ??= await this.shardBudget.reserve(this.expectedBytes, this.queue.length === 0, stopped, (ms) =>
          this.metrics.scope('ProcessTask', { ShardId: this.shardId }).add(BUDGET_WAIT_METRIC, ms, 'Milliseconds').end(),
        );
        expectEvent();
        const next = await iterator.next();
        clearTimeout(timer);
        if (next.done) break;
        const event = eventOf(next.value);
        if (event !== undefined) {
          if (this.forbidden()) return { kind: 'stopped' };
          events++;
          const ended = this.deliver(event, hold);
          hold = undefined;
          if (ended) return { kind: 'shardEnd' };
          if (await this.probeIfIdle(event)) return { kind: 'shardEnd' };
          await this.waitForRoom(); // the processor's pace, not the service's: no silence timer here
        }
        if (stopped.aborted) break;
      }
      if (stopped.aborted) return { kind: 'stopped' };
      return silent ? { kind: 'silent', events } : { kind: 'completed', events };
    } catch (error) {
      if (stopped.aborted) return { kind: 'stopped' };
      if (silent) return { kind: 'silent', events };
      if (!responded) measure(false);
      if (unanswered) return { kind: 'failed', events, error: new RequestTimeoutError(`SubscribeToShard on ${this.shardId} got no answer within ${this.options.requestTimeoutMs} ms`, { cause: error }) };
      return { kind: 'failed', events, error };
    } finally {
      hold?.release(); // no event came for it: the subscription ended, failed or stopped
      clearTimeout(timer);
      stopped.removeEventListener('abort', onStop);
      subscription.abort(); // closes this subscription's HTTP/2 stream if the service has not
      await iterator?.return?.().catch(() => undefined);
    }
  }

  /** Queues one event's batch with its bytes held against the budget; true at the end of the shard. */
  private deliver(event: SubscribeToShardEvent, hold: ByteReservation | undefined): boolean {
    const raw = event.Records ?? [];
    const records = toClientRecords(raw, this.hashKeyRange, this.filterAfter);
    if (records.length > 0) this.filterAfter = undefined;
    let byteSize = 0;
    for (const r of raw) byteSize += r.Data?.length ?? 0;
    const continuation = event.ContinuationSequenceNumber ?? undefined;
    const isAtShardEnd = continuation === undefined;
    const batch: RecordsRetrieved = { records, millisBehindLatest: event.MillisBehindLatest ?? 0, isAtShardEnd, cacheEntryTime: new Date(), byteSize };
    if (isAtShardEnd) batch.childShards = toChildShards(event.ChildShards);
    hold?.resize(byteSize); // may pass the budget: the event is in memory already
    this.expectedBytes = byteSize;
    this.push(batch, hold);
    if (isAtShardEnd) {
      this.logger.info({ childShards: batch.childShards?.map((c) => c.shardId) }, 'Reached the end of the shard');
      return true;
    }
    this.position = { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: continuation };
    return false;
  }

  /** At the tip with nothing new for a while: is the shard closed and read? True when it ended. */
  private async probeIfIdle(event: SubscribeToShardEvent): Promise<boolean> {
    if (this.probeShardEnd === undefined) return false;
    const now = performance.now();
    if ((event.Records?.length ?? 0) > 0) {
      this.probeInterval = this.options.shardEndProbeIntervalMs;
      this.nextProbeAt = now + this.probeInterval;
      return false;
    }
    const after = this.position.Type === 'AFTER_SEQUENCE_NUMBER' ? this.position.SequenceNumber : undefined;
    if (now < this.nextProbeAt || (event.MillisBehindLatest ?? 0) > 0 || after === undefined || this.forbidden()) return false;
    this.probeInterval = Math.min(this.probeInterval * 2, this.options.maxShardEndProbeIntervalMs);
    this.nextProbeAt = now + this.probeInterval;
    let childShards: ChildShard[] | undefined;
    try {
      childShards = await this.probeShardEnd(after, this.abort.signal);
    } catch (err) {
      if (!this.abort.signal.aborted) this.logger.debug(errorFields(err), 'Could not check whether the shard is closed; will ask again later');
      return false;
    }
    if (childShards === undefined) return false;
    if (this.forbidden()) return true; // stops the subscription; nothing more is queued
    this.logger.info({ childShards: childShards.map((c) => c.shardId) }, 'The shard is closed and read to its end (the subscription did not say so)');
    this.push({ records: [], millisBehindLatest: 0, isAtShardEnd: true, childShards, cacheEntryTime: new Date(), byteSize: 0 });
    return true;
  }

  /**
   * SubscribeToShard said ResourceNotFound: the consumer or the shard is gone. When the consumer still
   * resolves to the same ARN it is the shard, which ends with no known children (Java treats it as
   * SHARD_END; children come from ListShards). A re-registered consumer is subscribed to again.
   */
  private async shardGone(consumerArn: string, error: unknown): Promise<boolean> {
    this.consumer.forget(consumerArn);
    let current: string;
    try {
      current = await this.consumer.consumerArn(this.abort.signal);
    } catch {
      return false; // the run loop logs, backs off and looks for the consumer again
    }
    if (current !== consumerArn) {
      this.logger.warn({ consumerArn: current, previousArn: consumerArn }, 'The stream consumer was registered again; resubscribing');
      return false;
    }
    if (this.forbidden()) return true;
    this.logger.warn(errorFields(error), 'The shard no longer exists; treating it as ended');
    this.push({ records: [], millisBehindLatest: 0, isAtShardEnd: true, childShards: [], cacheEntryTime: new Date(), byteSize: 0 });
    return true;
  }

  /** Logs (by kind) and waits the streak's backoff before the next subscription. */
  private backOffAfter(error: unknown): Promise<void> {
    const name = errorName(error);
    const fields = { position: this.position };
    let delay: number;
    if (name === 'ResourceInUseException') {
      // Another subscription for this consumer and shard is still open (ours, just cut, or a previous owner's).
      delay = this.streak.fail(error, 'quiet', 'The shard has another active subscription; backing off', fields);
    } else if (name === 'LimitExceededException') {
      delay = this.streak.fail(error, 'quiet', 'SubscribeToShard throttled; backing off', fields);
    } else {
      delay = this.streak.fail(error, 'loud', 'The subscription failed; resubscribing from the last continuation', fields);
    }
    return pause(delay, this.abort.signal);
  }

  /** The owner withdrew permission to fetch (its lease expired locally): stop for good, quietly. */
  private forbidden(): boolean {
    return fetchForbidden(this.hooks, this.abort, this.logger);
  }
}

/** The event of one event-stream message; modelled exceptions sent in the stream are thrown. */
function eventOf(message: SubscribeToShardEventStream): SubscribeToShardEvent | undefined {
  if (message.SubscribeToShardEvent) return message.SubscribeToShardEvent;
  for (const [key, value] of Object.entries(message)) {
    if (key === '$unknown' || value === undefined) continue;
    if (value instanceof Error) throw value;
    const error = new Error((value as { message?: string }).message ?? key);
    error.name = key;
    throw error;
  }
  return undefined; // an event type this SDK does not know: skip it
}

function startingPosition(checkpoint: ExtendedSequenceNumber, timestamp: Date | undefined): StartingPosition {
  switch (checkpoint.sequenceNumber) {
    case 'TRIM_HORIZON':
      return { Type: 'TRIM_HORIZON' };
    case 'LATEST':
      return { Type: 'LATEST' };
    case 'AT_TIMESTAMP':
      return { Type: 'AT_TIMESTAMP', Timestamp: timestamp ?? new Date(0) };
    default:
      // A numeric checkpoint resumes AT its sequence number: later records of an aggregate are still due.
      return { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: checkpoint.sequenceNumber };
  }
}
