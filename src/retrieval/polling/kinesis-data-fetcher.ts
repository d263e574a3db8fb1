import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetRecordsCommandOutput,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { streamParams, type StreamIdentifier } from '../stream-identifier.ts';
import type { ExtendedSequenceNumber } from '../extended-sequence-number.ts';
import { withDeadline, withLeanDeadline } from '../../common/deadline.ts';
import { leanKinesisFor } from './lean-kinesis.ts';

/** How GetRecords and GetShardIterator are sent: 'lean' (./lean-kinesis.ts, the default) or 'sdk' (the client's commands). */
export type GetRecordsPath = 'lean' | 'sdk';

/** Java's kinesisRequestTimeout. */
export const DEFAULT_KINESIS_REQUEST_TIMEOUT_MS = 30000;

/** Where to (re)open a shard iterator. */
export type IteratorPosition =
  | { type: 'checkpoint'; checkpoint: ExtendedSequenceNumber; timestamp?: Date }
  | { type: 'after'; sequenceNumber: string };

/**
 * GetShardIterator and GetRecords for one shard (Java's KinesisDataFetcher). Each call has a deadline
 * (`requestTimeoutMs`) besides the caller's signal: an answer that never comes costs one timeout.
 * Both go the lean way unless `path` is 'sdk'; both ways give the same output, errors, retries and
 * abort behaviour.
 */
export class KinesisDataFetcher {
  constructor(
    private readonly kinesis: KinesisClient,
    private readonly stream: StreamIdentifier,
    readonly shardId: string,
    private readonly maxRecords: number,
    private readonly requestTimeoutMs = DEFAULT_KINESIS_REQUEST_TIMEOUT_MS,
    private readonly path: GetRecordsPath = 'sdk',
  ) {}

  async getIterator(position: IteratorPosition, signal: AbortSignal): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = { ...streamParams(this.stream), ShardId: this.shardId, ...iteratorType(position) };
    if (this.path === 'lean') {
      const lean = leanKinesisFor(this.kinesis);
      const out = await withLeanDeadline(`GetShardIterator on ${this.shardId}`, this.requestTimeoutMs, signal, (abortSignal) => lean.getShardIterator(input, abortSignal));
      return out.ShardIterator;
    }
    const out = await withDeadline(`GetShardIterator on ${this.shardId}`, this.requestTimeoutMs, signal, (abortSignal) =>
      this.kinesis.send(new GetShardIteratorCommand(input), { abortSignal }),
    );
    return out.ShardIterator;
  }

  getRecords(iterator: string, signal: AbortSignal): Promise<GetRecordsCommandOutput> {
    const input = { ShardIterator: iterator, Limit: this.maxRecords, ...(this.stream.streamArn ? { StreamARN: this.stream.streamArn } : {}) };
    if (this.path === 'lean') {
      const lean = leanKinesisFor(this.kinesis);
      return withLeanDeadline(`GetRecords on ${this.shardId}`, this.requestTimeoutMs, signal, (abortSignal) => lean.getRecords(input, abortSignal));
    }
    return withDeadline(`GetRecords on ${this.shardId}`, this.requestTimeoutMs, signal, (abortSignal) => this.kinesis.send(new GetRecordsCommand(input), { abortSignal }));
  }
}

/** A numeric checkpoint resumes AT its sequence number (later records of an aggregate are still due). */
function iteratorType(position: IteratorPosition): Pick<GetShardIteratorCommandInput, 'ShardIteratorType' | 'StartingSequenceNumber' | 'Timestamp'> {
  if (position.type === 'after') return { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: position.sequenceNumber };
  const seq = position.checkpoint.sequenceNumber;
  switch (seq) {
    case 'TRIM_HORIZON':
      return { ShardIteratorType: 'TRIM_HORIZON' };
    case 'LATEST':
      return { ShardIteratorType: 'LATEST' };
    case 'AT_TIMESTAMP':
      return { ShardIteratorType: 'AT_TIMESTAMP', Timestamp: position.timestamp ?? new Date(0) };
    default:
      return { ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: seq };
  }
}
