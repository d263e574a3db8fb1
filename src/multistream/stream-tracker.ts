import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { withDeadline } from '../common/deadline.ts';
import type { InitialPosition } from '../config.ts';
import { streamLabel, streamParams } from '../retrieval/stream-identifier.ts';
import { accountOfStreamArn, parseStreamIdentifier, serializeStreamIdentifier } from './multi-stream-lease-key.ts';

/** One stream of a multi-stream application, as listed in `streams` (Java's StreamConfig). */
export interface StreamConfig {
  /** The stream's name; exactly one of streamName and streamArn. */
  streamName?: string;
  /** The stream's ARN (calls then name it by ARN, as cross-account streams need); exactly one of streamName and streamArn. */
  streamArn?: string;
  /** Where its shards without a checkpoint start; default the Scheduler's `initialPosition`. */
  initialPosition?: InitialPosition;
}

/** A stream of the application, resolved to its identity (Java's StreamIdentifier) and start position. */
export interface TrackedStream {
  /** `<accountId>:<streamName>:<creationEpoch>`: the prefix of its lease keys. */
  identifier: string;
  streamName: string;
  streamArn: string;
  initialPosition: InitialPosition;
  /** How the application names it (its ARN or its name): calls name it the same way. */
  label: string;
  byArn: boolean;
}

/** The stream list as configured: fixed, or asked for again every shard-sync interval (Java's MultiStreamTracker). */
export type StreamsSource = StreamConfig[] | (() => Promise<StreamConfig[]>);

/**
 * Resolves the configured streams: each is described (DescribeStreamSummary) for its ARN and creation
 * time, which make its identifier. A stream that cannot be described is left out of this round (and
 * reported), never guessed: leases are keyed by the identifier, so a guess would orphan them.
 */
export class StreamTracker {
  constructor(
    private readonly source: StreamsSource,
    private readonly kinesis: KinesisClient,
    private readonly defaultPosition: TrackedStream['initialPosition'],
    private readonly requestTimeoutMs: number,
  ) {}

  async streams(signal?: AbortSignal): Promise<{ streams: TrackedStream[]; failures: { stream: string; error: unknown }[] }> {
    const configs = typeof this.source === 'function' ? await this.source() : this.source;
    const streams: TrackedStream[] = [];
    const failures: { stream: string; error: unknown }[] = [];
    for (const config of configs) {
      try {
        streams.push(await this.describe(config, signal));
      } catch (error) {
        if (signal?.aborted) throw error;
        failures.push({ stream: streamLabel(config), error });
      }
    }
    return { streams: dedupe(streams), failures };
  }

  /** The stream's current identity; for a stream named by a lease, whether it is still that stream. */
  async describe(config: StreamConfig, signal?: AbortSignal): Promise<TrackedStream> {
    const out = await withDeadline(`DescribeStreamSummary on ${streamLabel(config)}`, this.requestTimeoutMs, signal, (abortSignal) =>
      this.kinesis.send(new DescribeStreamSummaryCommand(streamParams(config)), { abortSignal }),
    );
    const summary = out.StreamDescriptionSummary;
    const arn = summary?.StreamARN;
    const created = summary?.StreamCreationTimestamp;
    const accountId = arn === undefined ? undefined : accountOfStreamArn(arn);
    if (!summary || arn === undefined || created === undefined || accountId === undefined) {
      throw new Error(`DescribeStreamSummary on ${streamLabel(config)} returned no usable StreamARN and StreamCreationTimestamp`);
    }
    const streamName = summary.StreamName ?? config.streamName ?? '';
    const creationEpoch = Math.floor(new Date(created).getTime() / 1000);
    return {
      identifier: serializeStreamIdentifier({ accountId, streamName, creationEpoch }),
      streamName,
      streamArn: arn,
      initialPosition: config.initialPosition ?? this.defaultPosition,
      label: streamLabel(config),
      byArn: config.streamArn !== undefined,
    };
  }

  /**
   * Whether the stream a lease-table identifier names still exists as that stream (same creation epoch).
   * False when it is gone or was recreated: its leases' checkpoints belong to a stream that is no more.
   */
  async stillExists(identifier: string, signal?: AbortSignal): Promise<boolean> {
    const parsed = parseStreamIdentifier(identifier);
    if (!parsed) return false;
    try {
      return (await this.describe({ streamName: parsed.streamName }, signal)).identifier === identifier;
    } catch (err) {
      if ((err as { name?: string }).name === 'ResourceNotFoundException') return false;
      throw err;
    }
  }
}

const dedupe = (streams: TrackedStream[]): TrackedStream[] => [...new Map(streams.map((s) => [s.identifier, s])).values()];
