import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startEnv, uniqueName, createStream, listShards, putRecords, splitShard, waitFor, credentials, region, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { BUDGET_WAIT_METRIC, ByteBudget, FIRST_PAGE_ESTIMATE_BYTES, byteBudgetChannel } from '../../src/retrieval/byte-budget.ts';
import type { MetricDatum } from '../../src/metrics/metrics-sink.ts';
import { KinesisDataFetcher } from '../../src/retrieval/polling/kinesis-data-fetcher.ts';
import { PrefetchRecordsPublisher } from '../../src/retrieval/polling/prefetch-records-publisher.ts';
import type { PublisherHooks } from '../../src/retrieval/records-publisher.ts';
import { TRIM_HORIZON } from '../../src/retrieval/extended-sequence-number.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { silentLogger } from '../../src/common/logger.ts';
import type { ShardRecordProcessorFactory } from '../../src/index.ts';

const SHARDS = 4;
const RECORD_BYTES = 10_000;
const PAGE_RECORDS = 5; // maxRecords: one page is ~50 KB
const PAGE_BYTES = PAGE_RECORDS * (RECORD_BYTES + 16);

/** What the worker's budgets reported while a test ran: every budget seen, the peak and the last reserved bytes. */
function watchBudgets(): { budgets: Set<ByteBudget>; peak(): number; last(): number; stop(): void } {
  const budgets = new Set<ByteBudget>();
  let peak = 0;
  let last = 0;
  const listener = (message: unknown): void => {
    const { budget } = message as { budget: ByteBudget };
    budgets.add(budget);
    last = budget.reserved;
    peak = Math.max(peak, last);
  };
  subscribe(byteBudgetChannel.name, listener);
  return { budgets, peak: () => peak, last: () => last, stop: () => unsubscribe(byteBudgetChannel.name, listener) };
}

/**
 * Delivered record ids per shard. The first batch of each shard is held a second (the queues fill behind it
 * up to the per-shard limits when nothing else bounds them), every later one 20 ms.
 */
function slowProcessor(delivered: Map<string, string[]>): ShardRecordProcessorFactory {
  return ({ shardId }) => {
    let batches = 0;
    return {
      initialize: () => undefined,
      processRecords: async ({ records }) => {
        if (records.length === 0) return;
        await new Promise((r) => setTimeout(r, batches++ === 0 ? 1000 : 20));
        const ids = delivered.get(shardId) ?? [];
        for (const r of records) ids.push(Buffer.from(r.data.subarray(0, 16)).toString().split(' ')[0]!);
        delivered.set(shardId, ids);
      },
      leaseLost: () => undefined,
      shardEnded: (input) => input.checkpointer.checkpoint(),
      shutdownRequested: () => undefined,
    };
  };
}

describe('a worker-wide byte budget bounds the record bytes in retrieval (kinesalite)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  /** A 4-shard stream preloaded with `perShard` records of ~10 KB each; the ids put on each shard, in order. */
  async function preload(perShard: number): Promise<{ stream: string; expected: Map<string, string[]> }> {
    const stream = uniqueName('budget');
    await createStream(env.kinesis, stream, SHARDS);
    const shards = await listShards(env.kinesis, stream);
    const expected = new Map<string, string[]>();
    const records = shards.flatMap((shard, s) =>
      Array.from({ length: perShard }, (_, i) => {
        const id = `s${s}-${i}`;
        expected.set(shard.ShardId!, [...(expected.get(shard.ShardId!) ?? []), id]);
        return { partitionKey: id, explicitHashKey: shard.HashKeyRange!.StartingHashKey!, data: `${id} `.padEnd(RECORD_BYTES, 'x') };
      }),
    );
    for (let i = 0; i < records.length; i += 100) await putRecords(env.kinesis, stream, records.slice(i, i + 100));
    return { stream, expected };
  }

  /** Runs one worker with the budget until every record is delivered; what it delivered and what its budget saw. */
  async function consume(
    perShard: number,
    budgetBytes: number,
  ): Promise<{ expected: Map<string, string[]>; delivered: Map<string, string[]>; watch: ReturnType<typeof watchBudgets>; metrics: MetricDatum[] }> {
    const { stream, expected } = await preload(perShard);
    const delivered = new Map<string, string[]>();
    const metrics: MetricDatum[] = [];
    const watch = watchBudgets();
    try {
      const scheduler = testScheduler(env, {
        applicationName: uniqueName('budget-app'),
        streamName: stream,
        processorFactory: slowProcessor(delivered),
        retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200, maxRecords: PAGE_RECORDS, maxBytesInFlightPerWorker: budgetBytes },
        metrics: { sinks: [{ record: (datum) => void metrics.push(datum) }] },
      });
      const running = start(scheduler);
      const total = (): number => [...delivered.values()].reduce((n, ids) => n + ids.length, 0);
      await waitFor(() => total() >= SHARDS * perShard, `all ${SHARDS * perShard} records`, 60000);
      await scheduler.startGracefulShutdown();
      await running;
    } finally {
      watch.stop();
    }
    return { expected, delivered, watch, metrics };
  }

  it('delivers every record once, in order per shard, holding no more than the budget plus one page per shard', async () => {
    const budget = 256 * 1024;
    const { expected, delivered, watch } = await consume(40, budget);
    for (const [shardId, ids] of expected) assert.deepEqual(delivered.get(shardId), ids, `every record of ${shardId} once, in order`);
    assert.equal(watch.budgets.size, 1, 'one budget for the whole worker');
    assert.ok(watch.peak() > budget / 2, `the budget was in use (peak ${watch.peak()})`);
    // A shard with nothing queued fetches past the budget (liveness), so one page per shard may come on top.
    assert.ok(watch.peak() <= budget + SHARDS * PAGE_BYTES, `peak ${watch.peak()} bytes held, more than the budget ${budget} plus one page ${PAGE_BYTES} per shard`);
    assert.equal(watch.last(), 0, 'every reservation was released when the worker stopped');
  });

  it('processors that never return stall only their own shards, not the shards whose processors keep up', async () => {
    const { stream, expected } = await preload(20);
    const shardIds = [...expected.keys()];
    const stuck = new Set(shardIds.slice(0, 2));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const delivered = new Map<string, number>();
    const budget = 2 * PAGE_BYTES; // the stuck shards' queues fill it
    const watch = watchBudgets();
    const scheduler = testScheduler(env, {
      applicationName: uniqueName('budget-stuck'),
      streamName: stream,
      processorFactory: ({ shardId }) => ({
        initialize: () => undefined,
        processRecords: async ({ records }) => {
          if (stuck.has(shardId)) await released; // a processor that never returns (until the test ends)
          delivered.set(shardId, (delivered.get(shardId) ?? 0) + records.length);
        },
        leaseLost: () => undefined,
        shardEnded: (input) => input.checkpointer.checkpoint(),
        shutdownRequested: () => undefined,
      }),
      retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200, maxRecords: PAGE_RECORDS, maxBytesInFlightPerWorker: budget },
    });
    const running = start(scheduler);
    try {
      await waitFor(() => watch.peak() >= 2 * PAGE_RECORDS * RECORD_BYTES, 'the stuck shards holding about the whole budget', 30000);
      const healthy = shardIds.filter((id) => !stuck.has(id));
      await waitFor(() => healthy.every((id) => delivered.get(id) === 20), 'every record of the two healthy shards', 30000);
      for (const id of stuck) assert.equal(delivered.get(id) ?? 0, 0, `${id} is stuck in its processor`);
    } finally {
      release();
      await scheduler.startGracefulShutdown();
      await running;
      watch.stop();
    }
  });

  it("multi-stream mode: every stream's shards draw on the worker's one budget", async () => {
    const budget = 256 * 1024;
    const streams = [await preload(4), await preload(4)];
    let delivered = 0;
    const watch = watchBudgets();
    try {
      const scheduler = testScheduler(env, {
        applicationName: uniqueName('budget-multi'),
        streams: streams.map(({ stream }) => ({ streamName: stream, initialPosition: 'TRIM_HORIZON' as const })),
        processorFactory: () => ({
          initialize: () => undefined,
          processRecords: ({ records }) => void (delivered += records.length),
          leaseLost: () => undefined,
          shardEnded: (input) => input.checkpointer.checkpoint(),
          shutdownRequested: () => undefined,
        }),
        retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200, maxRecords: PAGE_RECORDS, maxBytesInFlightPerWorker: budget },
      });
      const running = start(scheduler);
      await waitFor(() => delivered >= 2 * SHARDS * 4, 'every record of both streams', 60000);
      await scheduler.startGracefulShutdown();
      await running;
    } finally {
      watch.stop();
    }
    assert.equal(delivered, 2 * SHARDS * 4);
    assert.equal(watch.budgets.size, 1, 'one budget for the worker, not one per stream');
    // Each of the 8 shards' first call reserves the first-page estimate, past the budget when nothing is queued.
    assert.ok(watch.peak() <= budget + 2 * SHARDS * Math.max(PAGE_BYTES, FIRST_PAGE_ESTIMATE_BYTES), `peak ${watch.peak()}`);
    assert.equal(watch.last(), 0);
  });

  it('failures, a shard end, lease loss and stop() while waiting for room give every byte back', async () => {
    const proxy = new FaultProxy(env.servers.kinesis.endpoint);
    const kinesis = new KinesisClient({ region, credentials, endpoint: await proxy.start(), requestHandler: new NodeHttpHandler() });
    const budget = new ByteBudget(256 * 1024);
    const publishers: PrefetchRecordsPublisher[] = [];
    const publisher = (stream: string, shardId: string, hooks: PublisherHooks = {}, idleTimeBetweenReadsMs = 200): PrefetchRecordsPublisher => {
      const p = new PrefetchRecordsPublisher(
        new KinesisDataFetcher(kinesis, { streamName: stream }, shardId, PAGE_RECORDS, 5000),
        { checkpoint: TRIM_HORIZON },
        undefined,
        { idleTimeBetweenReadsMs, maxPendingBatches: 4, maxPendingBytes: 1 << 20, maxPendingRecords: 1000 },
        silentLogger,
        new Metrics('NONE', [], silentLogger),
        hooks,
        budget,
      );
      publishers.push(p);
      return p;
    };
    const signal = AbortSignal.timeout(30000);
    try {
      const { stream, expected } = await preload(3);
      const [parent, ids] = [...expected][0]!;
      await splitShard(env.kinesis, stream, parent);

      // GetRecords fails past the SDK's retries once (nothing held through the backoff, at least 1 s with
      // this idle time), then the closed shard is read to its end.
      proxy.inject('Kinesis_20131202.GetRecords', { status: 500, type: 'InternalFailure' }, { times: 3 });
      const ended = publisher(stream, parent, {}, 2000);
      await waitFor(() => proxy.faulted('Kinesis_20131202.GetRecords') >= 3, 'the failed GetRecords');
      await waitFor(() => budget.reserved === 0, 'the failed page given back before the backoff', 500);
      const seen: string[] = [];
      for (;;) {
        const batch = await ended.next(signal);
        seen.push(...batch.records.map((r) => Buffer.from(r.data.subarray(0, 16)).toString().split(' ')[0]!));
        if (batch.isAtShardEnd) break;
      }
      assert.deepEqual(seen, ids);
      assert.ok(proxy.faulted('Kinesis_20131202.GetRecords') >= 3);
      await waitFor(() => budget.reserved === 0, 'the bytes back once the shard ended and every batch was taken', 5000);

      // Lease loss: fetching stops with batches queued; stop() gives them back.
      let leaseHeld = true;
      const lost = publisher(stream, parent, { mayFetch: () => leaseHeld });
      await waitFor(() => budget.reserved > 0, 'a page queued');
      leaseHeld = false;
      await lost.stop();
      assert.equal(budget.reserved, 0, 'nothing held after the lease was lost');

      // stop() while waiting for room: the wait ends at once, nothing is left behind.
      const otherShards = budget.tryReserve(256 * 1024)!;
      const waiting = publisher(stream, parent);
      await waitFor(() => budget.waiting === 1, 'the shard waiting for room');
      await waiting.stop();
      assert.equal(budget.waiting, 0);
      otherShards.release();
      assert.equal(budget.reserved, 0);
    } finally {
      await Promise.all(publishers.map((p) => p.stop()));
      kinesis.destroy();
      await proxy.stop();
    }
  });

  it('a budget smaller than one page still delivers everything, one page at a time', async () => {
    const budget = 16 * 1024;
    const { expected, delivered, watch, metrics } = await consume(15, budget);
    for (const [shardId, ids] of expected) assert.deepEqual(delivered.get(shardId), ids, `every record of ${shardId} once, in order`);
    const waits = metrics.filter((d) => d.name === BUDGET_WAIT_METRIC);
    assert.ok(waits.length > 0 && waits.every((d) => d.dimensions.Operation === 'ProcessTask' && d.dimensions.ShardId !== undefined), 'the waits are measured per shard');
    assert.equal(watch.last(), 0, 'every reservation was released when the worker stopped');
  });
});
