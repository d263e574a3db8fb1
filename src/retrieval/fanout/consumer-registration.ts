import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { streamLabel, type StreamIdentifier } from '../stream-identifier.ts';
import { errorFields, type Logger } from '../../common/logger.ts';
import { KclError, KinesisClientLibDependencyException } from '../../errors.ts';
import { withDeadline } from '../../common/deadline.ts';

export interface ConsumerRegistrationOptions {
  /** Java FanOutConfig.maxDescribeStreamSummaryRetries = 10. */
  maxDescribeStreamSummaryRetries: number;
  /** Java FanOutConfig.maxDescribeStreamConsumerRetries = 10: throttled describes, and polls while CREATING. */
  maxDescribeStreamConsumerRetries: number;
  /** Java FanOutConfig.registerStreamConsumerRetries = 10. */
  registerStreamConsumerRetries: number;
  /** Java FanOutConfig.retryBackoffMillis = 1000; each wait adds 0-100 ms of jitter. */
  retryBackoffMs: number;
  /** Deadline of each Describe/Register call (Java kinesisRequestTimeout = 30 s): none may hang a registration. */
  requestTimeoutMs: number;
  random: () => number;
}

export const DEFAULT_REGISTRATION_OPTIONS: Readonly<ConsumerRegistrationOptions> = Object.freeze({
  maxDescribeStreamSummaryRetries: 10,
  maxDescribeStreamConsumerRetries: 10,
  registerStreamConsumerRetries: 10,
  retryBackoffMs: 1000,
  requestTimeoutMs: 30000,
  random: Math.random,
});

const errorName = (err: unknown): string => (err instanceof Error ? err.name : '');

interface ConsumerFound {
  arn: string | undefined;
  status: string | undefined;
}

/**
 * Finds or registers the stream consumer that enhanced fan-out reads through (Java's
 * FanOutConsumerRegistration): DescribeStreamConsumer, RegisterStreamConsumer when it is missing,
 * then waits until it is ACTIVE. Throttling (LimitExceeded) is retried after `retryBackoffMs` plus
 * 0-100 ms of jitter, a bounded number of times. Workers racing to register converge on one consumer:
 * the loser's RegisterStreamConsumer fails with ResourceInUse, and it describes the winner's.
 *
 * One instance per Scheduler: the ARN is memoised, so every shard shares one registration. A failed
 * attempt is forgotten, so the next caller tries again.
 */
export class FanOutConsumerRegistration {
  private pending: Promise<string> | undefined;
  private known: string | undefined;
  private streamArn: string | undefined;
  private readonly options: ConsumerRegistrationOptions;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly stream: StreamIdentifier,
    private readonly consumerName: string,
    private readonly configuredArn: string | undefined,
    private readonly logger: Logger,
    options: Partial<ConsumerRegistrationOptions> = {},
  ) {
    this.options = { ...DEFAULT_REGISTRATION_OPTIONS, ...options };
    this.streamArn = stream.streamArn;
  }

  /** The consumer ARN, registering the consumer once if needed. Aborting `signal` stops only this caller's wait. */
  consumerArn(signal?: AbortSignal): Promise<string> {
    if (this.configuredArn !== undefined) return Promise.resolve(this.configuredArn);
    if (this.pending === undefined) {
      const pending: Promise<string> = this.resolve().then(
        (arn) => {
          if (this.pending === pending) this.known = arn;
          return arn;
        },
        (err: unknown) => {
          if (this.pending === pending) this.pending = undefined; // the next caller tries again
          throw err;
        },
      );
      this.pending = pending;
    }
    return signal ? raceAbort(this.pending, signal) : this.pending;
  }

  /**
   * Forgets a consumer ARN that the service no longer knows (SubscribeToShard said ResourceNotFound),
   * so the next `consumerArn()` describes (and if needed registers) again. A configured ARN is kept.
   */
  forget(staleArn: string): void {
    if (this.known !== staleArn) return;
    this.known = undefined;
    this.pending = undefined;
  }

  private async resolve(): Promise<string> {
    const streamArn = await this.getStreamArn();
    const label = { consumerName: this.consumerName, streamArn };
    // A register that loses a race (ResourceInUse) describes again; bounded like the Java KCL's retries.
    for (let round = 0; ; round++) {
      let consumer = await this.describe(streamArn);
      if (consumer === undefined) {
        try {
          const out = await this.retryThrottled('RegisterStreamConsumer', this.options.registerStreamConsumerRetries, () =>
            this.send('RegisterStreamConsumer', (abortSignal) =>
              this.kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: this.consumerName }), { abortSignal }),
            ),
          );
          this.logger.info({ ...label, consumerArn: out.Consumer?.ConsumerARN }, 'Registered the stream consumer for enhanced fan-out');
          consumer = { arn: out.Consumer?.ConsumerARN, status: out.Consumer?.ConsumerStatus };
        } catch (err) {
          if (errorName(err) !== 'ResourceInUseException' || round + 1 >= this.options.registerStreamConsumerRetries) throw this.wrap('RegisterStreamConsumer', err);
          this.logger.info({ ...label, round }, 'The stream consumer is being registered by another worker; describing it');
          continue;
        }
      }
      const arn = consumer.arn;
      if (arn === undefined) throw new KinesisClientLibDependencyException(`Stream consumer ${this.consumerName} on ${streamArn} has no ARN`);
      if (consumer.status !== 'ACTIVE') await this.waitForActive(streamArn, arn);
      this.logger.info({ ...label, consumerArn: arn }, 'Using the stream consumer for enhanced fan-out');
      return arn;
    }
  }

  private async getStreamArn(): Promise<string> {
    if (this.streamArn !== undefined) return this.streamArn;
    const out = await this.retryThrottled('DescribeStreamSummary', this.options.maxDescribeStreamSummaryRetries, () =>
      this.send('DescribeStreamSummary', (abortSignal) =>
        this.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: this.stream.streamName ?? '' }), { abortSignal }),
      ),
    ).catch((err: unknown) => {
      throw this.wrap('DescribeStreamSummary', err);
    });
    const arn = out.StreamDescriptionSummary?.StreamARN;
    if (arn === undefined) throw new KinesisClientLibDependencyException(`DescribeStreamSummary of ${streamLabel(this.stream)} returned no StreamARN`);
    this.streamArn = arn;
    return arn;
  }

  /** The consumer's description, or undefined when it is not registered. */
  private async describe(streamArn: string): Promise<ConsumerFound | undefined> {
    try {
      const out = await this.retryThrottled('DescribeStreamConsumer', this.options.maxDescribeStreamConsumerRetries, () =>
        this.send('DescribeStreamConsumer', (abortSignal) =>
          this.kinesis.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: this.consumerName }), { abortSignal }),
        ),
      );
      return { arn: out.ConsumerDescription?.ConsumerARN, status: out.ConsumerDescription?.ConsumerStatus };
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException') return undefined;
      throw this.wrap('DescribeStreamConsumer', err);
    }
  }

  private async waitForActive(streamArn: string, arn: string): Promise<void> {
    let status: string | undefined;
    for (let attempt = 0; attempt < this.options.maxDescribeStreamConsumerRetries; attempt++) {
      await this.backoff();
      const out = await this.retryThrottled('DescribeStreamConsumer', this.options.maxDescribeStreamConsumerRetries, () =>
        this.send('DescribeStreamConsumer', (abortSignal) =>
          this.kinesis.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerARN: arn }), { abortSignal }),
        ),
      ).catch((err: unknown) => {
        throw this.wrap('DescribeStreamConsumer', err);
      });
      status = out.ConsumerDescription?.ConsumerStatus;
      this.logger.debug({ consumerArn: arn, status, attempt }, 'Waiting for the stream consumer to become ACTIVE');
      if (status === 'ACTIVE') return;
    }
    throw new KinesisClientLibDependencyException(
      `Stream consumer ${this.consumerName} was still ${status ?? 'unknown'} after ${this.options.maxDescribeStreamConsumerRetries} checks; it must be ACTIVE`,
    );
  }

  /** Runs `call`, retrying LimitExceeded up to `attempts` times in all (Java's retryWhenThrottled). */
  private async retryThrottled<T>(operation: string, attempts: number, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (errorName(err) !== 'LimitExceededException' || attempt >= attempts) throw err;
        this.logger.info({ operation, attempt, attempts, ...errorFields(err) }, 'Throttled while registering the stream consumer; retrying');
        await this.backoff();
      }
    }
  }

  /** One call with its deadline; a registration is shared by every shard, so no caller's signal cancels it. */
  private send<T>(operation: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withDeadline(`${operation} for stream consumer ${this.consumerName}`, this.options.requestTimeoutMs, undefined, call);
  }

  /** Unref'd: a registration still retrying must not keep a process alive once its Scheduler has shut down. */
  private backoff(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.options.retryBackoffMs + Math.floor(this.options.random() * 100)).unref());
  }

  private wrap(operation: string, err: unknown): unknown {
    if (err instanceof KclError) return err;
    return new KinesisClientLibDependencyException(
      `${operation} for stream consumer ${this.consumerName} on ${streamLabel(this.stream)} failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** Waits for `promise`, or rejects with the signal's reason when it aborts first (the promise runs on). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const reason = (): Error => (signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
