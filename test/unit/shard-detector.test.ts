import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ShardDetector } from '../../src/retrieval/shard-detector.ts';
import { KinesisClientLibDependencyException } from '../../src/errors.ts';

describe('ShardDetector', () => {
  it('gives ListShards a deadline: an unanswered call fails in time instead of hanging the shard sync', async () => {
    let signal: AbortSignal | undefined;
    const client = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) => {
        signal = options?.abortSignal;
        return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true }));
      },
    } as unknown as KinesisClient;
    const started = performance.now();
    await assert.rejects(new ShardDetector(client, { streamName: 's' }, 100).listShards(), (err: Error) => err instanceof KinesisClientLibDependencyException && /no answer within 100 ms/.test(err.message));
    assert.ok(performance.now() - started < 2000);
    assert.equal(signal?.aborted, true, 'the call was cut');
  });

  it("still stops at once on the caller's abort", async () => {
    const client = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_, reject) => options?.abortSignal?.addEventListener('abort', () => reject(new Error('stopped')), { once: true })),
    } as unknown as KinesisClient;
    const controller = new AbortController();
    const listing = new ShardDetector(client, { streamName: 's' }, 60000).listShards(controller.signal);
    controller.abort(new Error('shutdown'));
    await assert.rejects(listing);
  });
});
