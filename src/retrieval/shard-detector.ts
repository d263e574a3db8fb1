import { ListShardsCommand, type KinesisClient, type ListShardsCommandOutput, type Shard } from '@aws-sdk/client-kinesis';
import { streamLabel, streamParams, type StreamIdentifier } from './stream-identifier.ts';
import { backoffDelay, sleep } from '../common/backoff.ts';
import { KinesisClientLibDependencyException, ResourceNotFoundError } from '../errors.ts';
import { shardExists } from './shard-existence.ts';
import { withDeadline } from '../common/deadline.ts';

export interface ShardInfo {
  shardId: string;
  parentShardId?: string;
  adjacentParentShardId?: string;
  hashKeyRange: { startingHashKey: string; endingHashKey: string };
  startingSequenceNumber?: string;
  /** Set when the shard is closed (split or merged away). */
  endingSequenceNumber?: string;
}

export interface ShardDetectorOptions {
  /** Java listShardsBackoffTimeInMillis = 1500. */
  backoffMs?: number;
  /** Java maxListShardsRetryAttempts = 50. */
  maxAttempts?: number;
}

/**
 * Lists a stream's shards with pagination (Java's KinesisShardDetector). Each ListShards call has a
 * deadline (`requestTimeoutMs`, Java's kinesisRequestTimeout) besides the caller's signal.
 */
export class ShardDetector {
  constructor(
    private readonly kinesis: KinesisClient,
    private readonly stream: StreamIdentifier,
    private readonly requestTimeoutMs = 30000,
    private readonly options: ShardDetectorOptions = {},
  ) {}

  async listShards(signal?: AbortSignal): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.page(nextToken, signal);
      for (const shard of page.Shards ?? []) shards.push(toShardInfo(shard));
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  /** One ListShards page; LimitExceeded is retried with backoff, a missing stream is final. */
  private async page(nextToken: string | undefined, signal?: AbortSignal): Promise<ListShardsCommandOutput> {
    const maxAttempts = this.options.maxAttempts ?? 50;
    for (let attempt = 0; ; attempt++) {
      try {
        // With a NextToken, ListShards forbids the stream name.
        const input = nextToken ? { NextToken: nextToken } : streamParams(this.stream);
        return await withDeadline(`ListShards on ${streamLabel(this.stream)}`, this.requestTimeoutMs, signal, (abortSignal) =>
          this.kinesis.send(new ListShardsCommand(input), { abortSignal }),
        );
      } catch (err) {
        const name = err instanceof Error ? err.name : '';
        if (name === 'ResourceNotFoundException') {
          throw new ResourceNotFoundError(`Stream ${streamLabel(this.stream)} does not exist`, { cause: err });
        }
        if (name !== 'LimitExceededException' && name !== 'ResourceInUseException') {
          throw new KinesisClientLibDependencyException(`ListShards on ${streamLabel(this.stream)} failed: ${(err as Error).message}`, { cause: err });
        }
        if (attempt + 1 >= maxAttempts) throw new KinesisClientLibDependencyException(`ListShards on ${streamLabel(this.stream)} kept failing`, { cause: err });
        await sleep(backoffDelay(attempt, this.options.backoffMs ?? 1500, 10000), signal);
      }
    }
  }

  /** Whether one shard still exists, by its own GetShardIterator. */
  shardExists(shardId: string, signal?: AbortSignal): Promise<boolean> {
    return shardExists(this.kinesis, this.stream, shardId, this.requestTimeoutMs, signal);
  }
}

function toShardInfo(shard: Shard): ShardInfo {
  const info: ShardInfo = {
    shardId: shard.ShardId!,
    hashKeyRange: { startingHashKey: shard.HashKeyRange?.StartingHashKey ?? '0', endingHashKey: shard.HashKeyRange?.EndingHashKey ?? (2n ** 128n - 1n).toString() },
  };
  if (shard.ParentShardId) info.parentShardId = shard.ParentShardId;
  if (shard.AdjacentParentShardId) info.adjacentParentShardId = shard.AdjacentParentShardId;
  if (shard.SequenceNumberRange?.StartingSequenceNumber) info.startingSequenceNumber = shard.SequenceNumberRange.StartingSequenceNumber;
  if (shard.SequenceNumberRange?.EndingSequenceNumber) info.endingSequenceNumber = shard.SequenceNumberRange.EndingSequenceNumber;
  return info;
}
