import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { KinesisClient, StartingPosition, SubscribeToShardEvent, SubscribeToShardEventStream } from '@aws-sdk/client-kinesis';
import { FanOutRecordsPublisher, type ConsumerArnSource, type FanOutOptions } from '../../src/retrieval/fanout/fan-out-records-publisher.ts';
import type { ShardEndProbe } from '../../src/retrieval/fanout/shard-end-probe.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import type { MetricDatum } from '../../src/metrics/metrics-sink.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { esn, TRIM_HORIZON, LATEST, AT_TIMESTAMP, type ExtendedSequenceNumber } from '../../src/retrieval/extended-sequence-number.ts';
import type { PublisherHooks, RecordsRetrieved } from '../../src/retrieval/records-publisher.ts';
import { ByteBudget } from '../../src/retrieval/byte-budget.ts';

const ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1';
const seq = (n: number): string => `4968${String(n).padStart(52, '0')}`;
const record = (n: number) => ({ SequenceNumber: seq(n), PartitionKey: `pk-${n}`, Data: Buffer.from(`d${n}`), ApproximateArrivalTimestamp: new Date() });
/** An event carrying records a..b (inclusive), continuing after b. */
const event = (a: number, b: number, extra: Partial<SubscribeToShardEvent> = {}): SubscribeToShardEvent => {
  const Records = [];
  for (let n = a; n <= b; n++) Records.push(record(n));
  return { Records, ContinuationSequenceNumber: seq(b), MillisBehindLatest: 0, ...extra };
};
const empty = (after: number): SubscribeToShardEvent => ({ Records: [], ContinuationSequenceNumber: seq(after), MillisBehindLatest: 0 });

/** What one subscription does: its events in order, then 'hang' (silence until aborted), 'end' (service completes), or an error. */
type Script = { events: (SubscribeToShardEvent | SubscribeToShardEventStream)[]; then?: 'hang' | 'end' | Error; reject?: Error; gapMs?: number; unanswered?: boolean };

interface Call {
  position: StartingPosition;
  consumerArn: string;
  signal: AbortSignal;
  /** Events the publisher has pulled from this subscription. */
  pulled: number;
}

/** A Kinesis client whose SubscribeToShard plays scripts, one per call; extra calls hang. */
function fakeKinesis(scripts: Script[]): { client: KinesisClient; calls: Call[] } {
  const calls: Call[] = [];
  const aborted = (signal: AbortSignal): Promise<void> => new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  const client = {
    send: async (command: { constructor: { name: string }; input: { StartingPosition: StartingPosition; ConsumerARN: string } }, options: { abortSignal: AbortSignal }) => {
      assert.equal(command.constructor.name, 'SubscribeToShardCommand');
      const signal = options.abortSignal;
      const call: Call = { position: command.input.StartingPosition, consumerArn: command.input.ConsumerARN, signal, pulled: 0 };
      calls.push(call);
      const script = scripts[calls.length - 1] ?? { events: [], then: 'hang' };
      if (script.reject) throw script.reject;
      if (script.unanswered) {
        await aborted(signal); // accepted, never answered: only the caller's abort ends it
        throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      }
      async function* stream(): AsyncGenerator<SubscribeToShardEventStream> {
        for (const e of script.events) {
          if (script.gapMs) await new Promise((r) => setTimeout(r, script.gapMs));
          if (signal.aborted) return;
          call.pulled++;
          yield 'Records' in e || 'ContinuationSequenceNumber' in e ? { SubscribeToShardEvent: e as SubscribeToShardEvent } : e;
        }
        if (script.then === 'end') return;
        if (script.then instanceof Error) throw script.then;
        await aborted(signal); // silent until cut: the SDK then ends the iteration
      }
      return { EventStream: stream() };
    },
  };
  return { client: client as unknown as KinesisClient, calls };
}

const source = (arns: string[] = [ARN]): ConsumerArnSource & { forgotten: string[] } => {
  const forgotten: string[] = [];
  let i = 0;
  return {
    forgotten,
    consumerArn: () => Promise.resolve(arns[Math.min(i, arns.length - 1)]!),
    forget: (arn) => {
      forgotten.push(arn);
      i++;
    },
  };
};

const FAST: Partial<FanOutOptions> = { retryBackoffMs: 5, maxRetryBackoffMs: 20, maxTimeBetweenEventsMs: 5000 };
const publishers: FanOutRecordsPublisher[] = [];
afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.stop()));
});

function publisher(
  client: KinesisClient,
  opts: {
    checkpoint?: ExtendedSequenceNumber;
    timestamp?: Date;
    options?: Partial<FanOutOptions>;
    consumer?: ConsumerArnSource;
    probe?: ShardEndProbe;
    metrics?: Metrics;
    hooks?: PublisherHooks;
    budget?: ByteBudget;
  } = {},
): FanOutRecordsPublisher {
  const p = new FanOutRecordsPublisher({
    kinesis: client,
    consumer: opts.consumer ?? source(),
    shardId: 'shardId-000000000000',
    start: { checkpoint: opts.checkpoint ?? TRIM_HORIZON, ...(opts.timestamp ? { timestamp: opts.timestamp } : {}) },
    hashKeyRange: undefined,
    ...(opts.probe ? { probeShardEnd: opts.probe } : {}),
    logger: silentLogger,
    metrics: opts.metrics ?? new Metrics('NONE', [], silentLogger),
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
    options: { ...FAST, ...opts.options },
    ...(opts.budget ? { budget: opts.budget } : {}),
  });
  publishers.push(p);
  return p;
}

/** A signal that aborts after `ms`; unlike AbortSignal.timeout, its timer keeps the test alive. */
const abortAfter = (ms: number): AbortSignal => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error(`nothing within ${ms} ms`)), ms);
  return controller.signal;
};
const never = new AbortController().signal;
const data = (b: RecordsRetrieved): string[] => b.records.map((r) => Buffer.from(r.data).toString());
const withTimeout = <T>(promise: Promise<T>, ms = 2000): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms).unref())]);
const until = async (check: () => boolean, what: string, ms = 2000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe('FanOutRecordsPublisher', () => {
  it('maps the checkpoint to the first starting position', async () => {
    const cases: [ExtendedSequenceNumber, StartingPosition][] = [
      [TRIM_HORIZON, { Type: 'TRIM_HORIZON' }],
      [LATEST, { Type: 'LATEST' }],
      [AT_TIMESTAMP, { Type: 'AT_TIMESTAMP', Timestamp: new Date(1700000000000) }],
      [esn(seq(7), 2), { Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq(7) }],
    ];
    for (const [checkpoint, expected] of cases) {
      const { client, calls } = fakeKinesis([]);
      publisher(client, { checkpoint, timestamp: new Date(1700000000000) });
      await until(() => calls.length === 1, 'the subscription');
      assert.deepEqual(calls[0]!.position, expected);
      assert.equal(calls[0]!.consumerArn, ARN);
    }
  });

  it('delivers one batch per event and drops records at or below a numeric checkpoint', async () => {
    const { client } = fakeKinesis([{ events: [event(5, 8), event(9, 10)], then: 'hang' }]);
    const p = publisher(client, { checkpoint: esn(seq(6)) });
    const first = await withTimeout(p.next(never));
    assert.deepEqual(data(first), ['d7', 'd8']);
    assert.equal(first.isAtShardEnd, false);
    assert.equal(first.byteSize, 8, 'payload bytes of the event, as polling counts them');
    assert.deepEqual(data(await withTimeout(p.next(never))), ['d9', 'd10']);
  });

  it('resubscribes AFTER the last continuation when a subscription completes: no gap, no duplicate', async () => {
    const { client, calls } = fakeKinesis([
      { events: [event(1, 3), empty(3)], then: 'end' },
      { events: [event(4, 5)], then: 'end' },
      { events: [event(6, 6)], then: 'hang' },
    ]);
    const p = publisher(client);
    const seen: string[] = [];
    while (seen.length < 6) seen.push(...data(await withTimeout(p.next(never))));
    assert.deepEqual(seen, ['d1', 'd2', 'd3', 'd4', 'd5', 'd6']);
    assert.deepEqual(calls.map((c) => c.position), [
      { Type: 'TRIM_HORIZON' },
      { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(3) },
      { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(5) },
    ]);
  });

  it('ends the shard on an event without continuation, with its child shards, and subscribes no more', async () => {
    const childShards = [
      { ShardId: 'shardId-000000000001', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '10' } },
      { ShardId: 'shardId-000000000002', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '11', EndingHashKey: '20' } },
    ];
    const { client, calls } = fakeKinesis([{ events: [event(1, 2), { ...event(3, 3), ContinuationSequenceNumber: undefined, ChildShards: childShards }], then: 'hang' }]);
    const p = publisher(client);
    assert.equal((await withTimeout(p.next(never))).isAtShardEnd, false);
    const last = await withTimeout(p.next(never));
    assert.deepEqual(data(last), ['d3']);
    assert.equal(last.isAtShardEnd, true);
    assert.deepEqual(last.childShards, [
      { shardId: 'shardId-000000000001', parentShards: ['shardId-000000000000'], hashKeyRange: { startingHashKey: '0', endingHashKey: '10' } },
      { shardId: 'shardId-000000000002', parentShards: ['shardId-000000000000'], hashKeyRange: { startingHashKey: '11', endingHashKey: '20' } },
    ]);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.signal.aborted, true, 'the finished subscription is closed');
  });

  it('keeps at most maxPendingBatches events waiting: a slow processor stops the reading, not the memory', async () => {
    const endless = Array.from({ length: 1000 }, (_, i) => event(i + 1, i + 1));
    const { client, calls } = fakeKinesis([{ events: endless, then: 'hang' }]);
    const p = publisher(client, { options: { maxPendingBatches: 3 } });
    await until(() => calls[0]?.pulled === 3, 'three events pulled');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls[0]!.pulled, 3, 'nothing more is read while the queue is full');
    assert.deepEqual(data(await p.next(never)), ['d1']);
    await until(() => calls[0]!.pulled === 4, 'one more event once there is room');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls[0]!.pulled, 4);
  });

  it('with an event queued, reads no more while the worker byte budget is spent; with none queued it reads past it; gives every byte back', async () => {
    const budget = new ByteBudget(1000);
    const otherShards = budget.tryReserve(1000)!; // stuck shards elsewhere hold the whole budget
    const { client, calls } = fakeKinesis([{ events: [event(1, 2), event(3, 4), event(5, 6)], then: 'hang' }]);
    const p = publisher(client, { budget, options: { maxTimeBetweenEventsMs: 40 } });
    await until(() => budget.waiting === 1, 'the second read waiting for the budget');
    assert.equal(calls[0]!.pulled, 1, 'the first event read past the spent budget: nothing was queued');
    await new Promise((r) => setTimeout(r, 100)); // longer than the silence timeout: the wait is not silence
    assert.equal(calls.length, 1, 'no restart while waiting for the budget');
    assert.equal(calls[0]!.pulled, 1, 'nothing more read while an event is queued and the budget is spent');
    assert.deepEqual(data(await withTimeout(p.next(never))), ['d1', 'd2']);
    await until(() => calls[0]!.pulled === 2, 'the next event once the processor took the queued one');
    otherShards.release();
    await until(() => calls[0]!.pulled === 3, 'the rest once there is room');
    await p.stop();
    assert.equal(budget.reserved, 0, 'stop() gives back the queued events and the pending read');
  });

  it('the silence timer does not run while the queue is full', async () => {
    const { client, calls } = fakeKinesis([{ events: [event(1, 1), event(2, 2)], then: 'hang' }]);
    const p = publisher(client, { options: { maxPendingBatches: 1, maxTimeBetweenEventsMs: 40 } });
    await until(() => calls[0]?.pulled === 1, 'the first event');
    await new Promise((r) => setTimeout(r, 150)); // the processor is slow: no restart meanwhile
    assert.equal(calls.length, 1);
    assert.deepEqual(data(await p.next(never)), ['d1']);
    assert.deepEqual(data(await withTimeout(p.next(never))), ['d2']);
  });

  it('restarts a silent subscription after maxTimeBetweenEventsMs, from the last continuation', async () => {
    const { client, calls } = fakeKinesis([{ events: [event(1, 2)], then: 'hang' }, { events: [event(3, 3)], then: 'hang' }]);
    const p = publisher(client, { options: { maxTimeBetweenEventsMs: 60 } });
    assert.deepEqual(data(await withTimeout(p.next(never))), ['d1', 'd2']);
    assert.deepEqual(data(await withTimeout(p.next(never))), ['d3']);
    assert.equal(calls[0]!.signal.aborted, true, 'the silent subscription was cut');
    assert.deepEqual(calls[1]!.position, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(2) });
  });

  it('subscriptions that keep falling silent are backed off and reported once per streak, not restarted in a tight loop', async () => {
    const silent: Script = { events: [], then: 'hang' };
    const { client, calls } = fakeKinesis([silent, silent, silent, silent, { events: [event(1, 1)], then: 'hang' }]);
    const reported: unknown[] = [];
    const p = publisher(client, { options: { maxTimeBetweenEventsMs: 20 }, hooks: { reportError: (err) => reported.push(err) } });
    assert.deepEqual(data(await withTimeout(p.next(never))), ['d1']);
    assert.equal(calls.length, 5);
    assert.equal(reported.length, 1, 'one report for the whole streak of silences');
    assert.match((reported[0] as Error).message, /no event for 20 ms/);
  });

  it('backs off and resubscribes from the last continuation on ResourceInUse, network errors and exception events', async () => {
    const inUse = Object.assign(new Error('Another active subscription exists'), { name: 'ResourceInUseException' });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const { client, calls } = fakeKinesis([
      { events: [event(1, 2)], then: reset },
      { events: [], reject: inUse },
      { events: [event(3, 3), { InternalFailureException: { name: 'InternalFailureException', message: 'boom' } } as unknown as SubscribeToShardEventStream] },
      { events: [event(4, 4)], then: 'hang' },
    ]);
    const sink: MetricDatum[] = [];
    const metrics = new Metrics('DETAILED', [{ record: (d) => void sink.push(d) }], silentLogger);
    const p = publisher(client, { metrics });
    const seen: string[] = [];
    while (seen.length < 4) seen.push(...data(await withTimeout(p.next(never))));
    assert.deepEqual(seen, ['d1', 'd2', 'd3', 'd4']);
    assert.deepEqual(calls.map((c) => c.position.SequenceNumber), [undefined, seq(2), seq(2), seq(3)]);
    const success = sink.filter((d) => d.name === 'SubscribeToShard.Success');
    assert.deepEqual(success.map((d) => d.sum), [1, 0, 1, 1]);
    assert.ok(success.every((d) => d.dimensions.Operation === 'ProcessTask' && d.dimensions.ShardId === 'shardId-000000000000'));
    assert.ok(sink.some((d) => d.name === 'SubscribeToShard.Time'));
  });

  it('stop() aborts the open subscription at once, and next() rejects with the caller signal', async () => {
    const { client, calls } = fakeKinesis([{ events: [], then: 'hang' }]);
    const p = publisher(client);
    await until(() => calls.length === 1, 'the subscription');
    const waiting = new AbortController();
    const pending = p.next(waiting.signal);
    waiting.abort(new Error('lease lost'));
    await assert.rejects(pending, /lease lost/);
    await withTimeout(p.stop(), 500);
    assert.equal(calls[0]!.signal.aborted, true);
    await p.stop(); // idempotent
  });

  it('ResourceNotFound with a consumer that still exists ends the shard (as Java does); with a re-registered consumer it resubscribes', async () => {
    const notFound = Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
    {
      const { client, calls } = fakeKinesis([{ events: [], reject: notFound }]);
      const consumer = source([ARN, ARN]);
      const p = publisher(client, { consumer });
      const batch = await withTimeout(p.next(never));
      assert.equal(batch.isAtShardEnd, true);
      assert.deepEqual(batch.childShards, []);
      assert.deepEqual(consumer.forgotten, [ARN]);
      assert.equal(calls.length, 1);
    }
    {
      const { client, calls } = fakeKinesis([{ events: [event(1, 1)], then: notFound }, { events: [event(2, 2)], then: 'hang' }]);
      const p = publisher(client, { consumer: source([ARN, `${ARN}0`]) });
      assert.deepEqual(data(await withTimeout(p.next(never))), ['d1']);
      assert.deepEqual(data(await withTimeout(p.next(never))), ['d2']);
      assert.equal(calls[1]!.consumerArn, `${ARN}0`);
      assert.deepEqual(calls[1]!.position, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(1) });
    }
  });

  it('probes an idle subscription for the end of a closed shard, with a growing interval', async () => {
    const idle = Array.from({ length: 200 }, () => empty(2));
    const { client } = fakeKinesis([{ events: [event(1, 2), ...idle], then: 'hang', gapMs: 3 }]);
    const probes: { after: string; at: number }[] = [];
    const probe: ShardEndProbe = async (after) => {
      probes.push({ after, at: performance.now() });
      return probes.length < 3 ? undefined : [{ shardId: 'shardId-000000000001', parentShards: ['shardId-000000000000'] }];
    };
    const p = publisher(client, { probe, options: { shardEndProbeIntervalMs: 20, maxShardEndProbeIntervalMs: 1000 } });
    let last: RecordsRetrieved;
    do last = await withTimeout(p.next(never));
    while (!last.isAtShardEnd);
    assert.equal(probes.length, 3);
    assert.ok(probes.every((x) => x.after === seq(2)));
    assert.ok(probes[2]!.at - probes[1]!.at >= probes[1]!.at - probes[0]!.at - 5, 'the interval does not shrink');
    assert.deepEqual(last.childShards, [{ shardId: 'shardId-000000000001', parentShards: ['shardId-000000000000'] }]);
  });

  it('a SubscribeToShard that is never answered fails after requestTimeoutMs, is reported, and is retried', async () => {
    const { client, calls } = fakeKinesis([{ events: [], unanswered: true }, { events: [event(1, 2)], then: 'hang' }]);
    const reported: unknown[] = [];
    const p = publisher(client, { options: { requestTimeoutMs: 100 }, hooks: { reportError: (err) => reported.push(err) } });
    assert.deepEqual(data(await withTimeout(p.next(never))), ['d1', 'd2']);
    assert.equal(calls[0]!.signal.aborted, true, 'the unanswered request was cut');
    assert.equal(calls.length, 2);
    assert.equal((reported[0] as Error).name, 'RequestTimeoutError');
  });

  it('queues no further event and subscribes no more once mayFetch() says no', async () => {
    const { client, calls } = fakeKinesis([{ events: [event(1, 1), event(2, 2), event(3, 3)], gapMs: 50, then: 'end' }]);
    let allowed = true;
    const p = publisher(client, { hooks: { mayFetch: () => allowed } });
    assert.deepEqual(data(await withTimeout(p.next(never))), ['d1']);
    allowed = false;
    await assert.rejects(p.next(abortAfter(300)));
    await withTimeout(p.stop(), 500);
    assert.equal(calls.length, 1, 'no new subscription');
    assert.equal(calls[0]!.signal.aborted, true, 'the open subscription was closed');
  });
});
