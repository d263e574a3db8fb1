import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, credentials, region, type TestEnv } from '../support/env.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { KinesisDataFetcher } from '../../src/retrieval/polling/kinesis-data-fetcher.ts';
import { PrefetchRecordsPublisher } from '../../src/retrieval/polling/prefetch-records-publisher.ts';
import { IdlePollClock } from '../../src/retrieval/polling/idle-poll-clock.ts';
import type { PublisherHooks, RecordsRetrieved } from '../../src/retrieval/records-publisher.ts';
import type { HashKeyRange } from '../../src/retrieval/aggregation/index.ts';
import { aggregate } from '../../src/retrieval/aggregation/index.ts';
import { TRIM_HORIZON } from '../../src/retrieval/extended-sequence-number.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { silentLogger } from '../../src/common/logger.ts';

const GET_RECORDS = 'Kinesis_20131202.GetRecords';
const GET_ITERATOR = 'Kinesis_20131202.GetShardIterator';
const SHARD = 'shardId-000000000000';
/** A signal that aborts after `ms`; unlike AbortSignal.timeout, its timer keeps the test alive. */
const abortAfter = (ms: number): AbortSignal => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error(`nothing within ${ms} ms`)), ms);
  return controller.signal;
};
const text = (b: RecordsRetrieved): string[] => b.records.map((r) => Buffer.from(r.data).toString());

describe('PrefetchRecordsPublisher against kinesalite', () => {
  let env: TestEnv;
  let proxy: FaultProxy;
  let kinesis: KinesisClient;
  before(async () => {
    env = await startEnv('kinesalite');
    proxy = new FaultProxy(env.servers.kinesis.endpoint);
    kinesis = new KinesisClient({ region, credentials, endpoint: await proxy.start(), requestHandler: new NodeHttpHandler() });
  });
  after(async () => {
    kinesis?.destroy();
    await proxy?.stop();
    await env?.close();
  });

  const publisher = (stream: string, maxRecords: number, hashKeyRange: HashKeyRange | undefined, hooks: PublisherHooks = {}): PrefetchRecordsPublisher =>
    new PrefetchRecordsPublisher(
      new KinesisDataFetcher(kinesis, { streamName: stream }, SHARD, maxRecords, 5000),
      { checkpoint: TRIM_HORIZON },
      hashKeyRange,
      { idleTimeBetweenReadsMs: 200, maxPendingBatches: 1, maxPendingBytes: 1 << 20, maxPendingRecords: 1000 },
      silentLogger,
      new Metrics('NONE', [], silentLogger),
      hooks,
    );

  it('converts a page before advancing the iterator: a conversion error retries the same page, nothing skipped', async () => {
    const stream = uniqueName('convert');
    await createStream(env.kinesis, stream, 1);
    const expected: string[] = [];
    const entries = [];
    for (let i = 0; i < 4; i++) {
      const users = [0, 1, 2].map((j) => ({ partitionKey: `pk-${i}-${j}`, data: Buffer.from(`agg-${i}-${j}`) }));
      expected.push(...users.map((u) => u.data.toString()));
      const [packed] = aggregate(users);
      entries.push({ PartitionKey: packed!.partitionKey, Data: packed!.data });
    }
    await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
    // The shard's range throws when it is first read: the first page's conversion fails once.
    let reads = 0;
    const faulty: HashKeyRange = {
      get startingHashKey(): string {
        if (++reads === 1) throw new Error('conversion fault');
        return '0';
      },
      endingHashKey: (2n ** 128n - 1n).toString(),
    };
    const reported: unknown[] = [];
    const p = publisher(stream, 1, faulty, { reportError: (err) => reported.push(err) });
    try {
      const seen: string[] = [];
      const signal = abortAfter(20000);
      while (seen.length < expected.length) seen.push(...text(await p.next(signal)));
      assert.deepEqual(seen, expected, 'every user record once, in order, the failed page included');
      assert.equal(reads > 1, true);
      assert.equal((reported[0] as Error | undefined)?.message, 'conversion fault', 'the failure was reported');
    } finally {
      await p.stop();
    }
  });

  it('makes no Kinesis call and queues nothing once mayFetch() says no', async () => {
    const stream = uniqueName('mayfetch');
    await createStream(env.kinesis, stream, 1);
    await putRecords(env.kinesis, stream, makeRecords(30, 'm'));
    let allowed = true;
    const p = publisher(stream, 10, undefined, { mayFetch: () => allowed });
    try {
      const first = await p.next(abortAfter(20000));
      assert.equal(first.records.length, 10);
      // The queue (one batch) refills only after this take; the next fetch must not happen.
      allowed = false;
      const calls = proxy.count(GET_RECORDS) + proxy.count(GET_ITERATOR);
      await assert.rejects(p.next(abortAfter(1500)), 'nothing more is queued');
      assert.equal(proxy.count(GET_RECORDS) + proxy.count(GET_ITERATOR), calls, 'no Kinesis call after mayFetch() said no');
    } finally {
      await p.stop();
    }
  });

  it('a GetRecords in flight when mayFetch() turns false is neither retried nor queued', async () => {
    const stream = uniqueName('mayfetch-inflight');
    await createStream(env.kinesis, stream, 1);
    await putRecords(env.kinesis, stream, makeRecords(30, 'n'));
    let allowed = true;
    const before = proxy.count(GET_RECORDS);
    // The second GetRecords hangs until its 5 s deadline; mayFetch turns false while it is in flight.
    proxy.inject(GET_RECORDS, 'hang', { skip: 1, times: 1 });
    const p = publisher(stream, 10, undefined, { mayFetch: () => allowed });
    try {
      await p.next(abortAfter(20000));
      await waitFor(() => proxy.count(GET_RECORDS) - before >= 2, 'the second GetRecords in flight');
      allowed = false;
      await assert.rejects(p.next(abortAfter(6500)), 'the answer after the timeout is not queued');
      assert.equal(proxy.count(GET_RECORDS) - before, 2, 'and not retried');
    } finally {
      proxy.clear(GET_RECORDS);
      await p.stop();
    }
  });

  it('idle shards on one clock poll together, each no closer than its idle interval, and a shard with records polls at the floor', async () => {
    const stream = uniqueName('idle-clock');
    const idle = 500;
    await createStream(env.kinesis, stream, 4);
    const shards = [0, 1, 2, 3].map((i) => `shardId-00000000000${i}`);
    /** Every GetRecords by shard: when it started and how many records it returned (the real call follows). */
    const calls = new Map<string, Array<{ start: number; records?: number }>>(shards.map((s) => [s, []]));
    class TimedFetcher extends KinesisDataFetcher {
      override async getRecords(iterator: string, signal: AbortSignal): ReturnType<KinesisDataFetcher['getRecords']> {
        const call: { start: number; records?: number } = { start: performance.now() };
        calls.get(this.shardId)!.push(call);
        const out = await super.getRecords(iterator, signal);
        call.records = out.Records?.length ?? 0;
        return out;
      }
    }
    const clock = new IdlePollClock();
    const stop = new AbortController();
    const received: string[] = [];
    const publishers: PrefetchRecordsPublisher[] = [];
    const drains: Promise<void>[] = [];
    for (const shard of shards) {
      const p = new PrefetchRecordsPublisher(
        new TimedFetcher(kinesis, { streamName: stream }, shard, 100, 5000),
        { checkpoint: TRIM_HORIZON },
        undefined,
        { idleTimeBetweenReadsMs: idle, maxPendingBatches: 1, maxPendingBytes: 1 << 20, maxPendingRecords: 1000 },
        silentLogger,
        new Metrics('NONE', [], silentLogger),
        {},
        undefined,
        clock,
      );
      publishers.push(p);
      drains.push(
        (async () => {
          for (;;) received.push(...text(await p.next(stop.signal)));
        })().catch(() => undefined),
      );
      await new Promise((resolve) => setTimeout(resolve, 120)); // each shard on its own phase
    }
    const starts = (s: string): number[] => calls.get(s)!.map((c) => c.start);
    try {
      await waitFor(() => shards.every((s) => calls.get(s)!.length >= 6), 'six polls on every shard', 20000);
      // The last three rounds: all four shards' calls start within a few milliseconds of each other.
      for (let back = 1; back <= 3; back++) {
        const round = shards.map((s) => starts(s).at(-back)!);
        const spread = Math.max(...round) - Math.min(...round);
        assert.ok(spread < 40, `round -${back}: the shards' calls spread over ${spread.toFixed(0)} ms`);
      }
      for (const s of shards) {
        const t = starts(s);
        // Past the pacer's back-off after the first empty pages (200, then 400 ms), every gap is at least the idle interval.
        for (let i = 3; i < t.length; i++) assert.ok(t[i]! - t[i - 1]! >= idle - 1, `${s}: polls ${(t[i]! - t[i - 1]!).toFixed(0)} ms apart`);
      }
      // 300 records on one shard: three pages of 100, fetched at the 200 ms floor, not on the idle shards' wakeups.
      await putRecords(env.kinesis, stream, makeRecords(300, 'busy').map((r) => ({ ...r, partitionKey: 'one-shard' })));
      await waitFor(() => received.length >= 300, 'the 300 records', 10000, 10);
      const busy = [...calls.values()].find((c) => c.some((call) => (call.records ?? 0) > 0))!;
      const gaps = busy.slice(1).flatMap((call, i) => ((busy[i]!.records ?? 0) > 0 ? [call.start - busy[i]!.start] : []));
      assert.ok(gaps.length >= 2, `${gaps.length} polls after pages with records`);
      for (const gap of gaps) assert.ok(gap >= 199 && gap < idle - 100, `a poll ${gap.toFixed(0)} ms after a page with records`);
    } finally {
      stop.abort();
      await Promise.all(publishers.map((p) => p.stop()));
      await Promise.all(drains);
    }
    assert.equal(clock.planned, 0, 'stopped publishers leave no wakeup behind');
  });
});
