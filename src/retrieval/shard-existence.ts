import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { streamLabel, type StreamIdentifier } from './stream-identifier.ts';
import { KinesisDataFetcher } from './polling/kinesis-data-fetcher.ts';
import { TRIM_HORIZON } from './extended-sequence-number.ts';
import { KinesisClientLibDependencyException } from '../errors.ts';

/**
 * Whether one shard still exists, by its own GetShardIterator (TRIM_HORIZON), as the Java KCL's lease
 * cleanup decides: ResourceNotFound means gone (trimmed past retention, or the stream was recreated).
 * Any other failure throws, so a throttled or unanswered check never counts as "gone".
 */
export async function shardExists(kinesis: KinesisClient, stream: StreamIdentifier, shardId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const fetcher = new KinesisDataFetcher(kinesis, stream, shardId, 1, timeoutMs);
  try {
    await fetcher.getIterator({ type: 'checkpoint', checkpoint: TRIM_HORIZON }, signal ?? new AbortController().signal);
    return true;
  } catch (err) {
    if (err instanceof Error && err.name === 'ResourceNotFoundException') return false;
    throw new KinesisClientLibDependencyException(`Could not tell whether ${shardId} of ${streamLabel(stream)} exists: ${(err as Error).message}`, { cause: err });
  }
}
