import { GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { streamLabel, streamParams, type StreamIdentifier } from './stream-identifier.ts';
import { withDeadline } from '../common/deadline.ts';
import { KinesisClientLibDependencyException } from '../errors.ts';

/**
 * Whether one shard still exists, by its own GetShardIterator (TRIM_HORIZON), as the Java KCL's lease
 * cleanup decides: ResourceNotFound means gone (trimmed past retention, or the stream was recreated).
 * Any other failure throws, so a throttled or unanswered check never counts as "gone".
 */
export async function shardExists(kinesis: KinesisClient, stream: StreamIdentifier, shardId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const input = { ...streamParams(stream), ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' as const };
  try {
    await withDeadline(`GetShardIterator(${shardId})`, timeoutMs, signal, (s) => kinesis.send(new GetShardIteratorCommand(input), { abortSignal: s }));
    return true;
  } catch (err) {
    if (err instanceof Error && err.name === 'ResourceNotFoundException') return false;
    throw new KinesisClientLibDependencyException(`Could not tell whether ${shardId} of ${streamLabel(stream)} exists: ${(err as Error).message}`, { cause: err });
  }
}
