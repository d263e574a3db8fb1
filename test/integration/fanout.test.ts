import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { KinesisClient, ListStreamConsumersCommand, DescribeStreamSummaryCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, splitShard, credentials, region, type TestEnv, type PutResult } from '../support/env.ts';
import { Recorder, recordingFactory, streamRecorder } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { EventStreamHttp2Handler } from '../../src/common/event-stream-http2-handler.ts';
import { aggregate, type Logger, type Scheduler, type SchedulerConfig } from '../../src/index.ts';
import { isLeaseItem } from '../../src/leases/dynamodb/lease-serializer.ts';

/**
 * TLS options that trust exactly kinesis-local's self-signed certificate (it names no host, so the name
 * check is skipped). Test-only: the library's defaults verify certificates as usual.
 */
function trustKinesisLocal(): { ca: string; checkServerIdentity: () => undefined } {
  const main = createRequire(import.meta.url).resolve('kinesis-local/main.js');
  const { server } = JSON.parse(readFileSync(new URL('server.json', `file://${main}`), 'utf8')) as { server: { cert: string } };
  return { ca: server.cert, checkServerIdentity: () => undefined };
}

/** A fan-out client for kinesis-local's TLS port, as a user passes `fanOutKinesisClient`. */
const fanOutClient = (endpoint: string): KinesisClient =>
  new KinesisClient({ region, credentials, endpoint, requestHandler: new EventStreamHttp2Handler({ nodeHttp2ConnectOptions: trustKinesisLocal() }) });

/** A TCP pass-through in front of the TLS port whose connections a test can cut (TLS stays end to end). */
class CuttableTcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  connections = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<number> {
    this.server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as { port: number }).port;
  }

  /** Drops every open connection, as a network failure would. */
  cut(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** A logger that keeps every line, to see what the library did (and what it never logs). */
function recordingLogger(): Logger & { lines: { level: string; msg: string | undefined; obj: object }[] } {
  const lines: { level: string; msg: string | undefined; obj: object }[] = [];
  const make =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void =>
      void lines.push(typeof objOrMsg === 'string' ? { level, msg: objOrMsg, obj: {} } : { level, msg, obj: objOrMsg });
  return { lines, debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error') };
}

const assertPerShardExactly = (recorder: Recorder, put: PutResult[]): void => {
  for (const shardId of new Set(put.map((p) => p.shardId))) {
    assert.deepEqual(
      recorder.byShard(shardId).map((d) => d.data),
      put.filter((p) => p.shardId === shardId).map((p) => p.data),
      `every record of ${shardId} once, in put order`,
    );
  }
};

describe('enhanced fan-out (kinesis-local, SubscribeToShard over HTTP/2)', () => {
  let env: TestEnv;
  let fanOut: KinesisClient;
  const started: Scheduler[] = [];
  before(async () => {
    env = await startEnv('kinesis-local');
    fanOut = fanOutClient(env.clientConfig.endpoints.kinesisHttp2!);
  });
  after(async () => {
    await Promise.all(started.map((s) => s.shutdown())); // a failed test must not leave a worker running
    fanOut?.destroy();
    await env?.close();
  });

  const scheduler = (config: Partial<SchedulerConfig> & Pick<SchedulerConfig, 'applicationName' | 'processorFactory'>): Scheduler => {
    const s = testScheduler(env, { retrieval: { mode: 'fanout' }, fanOutKinesisClient: fanOut, ...config });
    started.push(s);
    return s;
  };

  const consumersOf = async (stream: string): Promise<{ name: string; status: string }[]> => {
    const arn = (await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary!.StreamARN!;
    const out = await env.kinesis.send(new ListStreamConsumersCommand({ StreamARN: arn }));
    return (out.Consumers ?? []).map((c) => ({ name: c.ConsumerName!, status: c.ConsumerStatus! }));
  };

  it('delivers 4 shards in per-shard order, checkpoints, and a restart redelivers nothing', async () => {
    const stream = uniqueName('efo');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 4);
    const put = await putRecords(env.kinesis, stream, makeRecords(200, 'first', 40));
    const recorder = new Recorder();
    const logger = recordingLogger();
    const first = scheduler({ applicationName: app, streamName: stream, logger, processorFactory: recordingFactory(recorder) });
    const running = start(first);
    await waitFor(() => recorder.deliveries.length >= 200, 'all 200 records through fan-out');
    // And records put while subscribed arrive too.
    const live = await putRecords(env.kinesis, stream, makeRecords(40, 'live', 40));
    await waitFor(() => recorder.deliveries.length >= 240, 'the 40 records put while subscribed');
    assertPerShardExactly(recorder, [...put, ...live]);
    assert.equal(await first.startGracefulShutdown(), true);
    await running;

    const items = ((await env.dynamodb.send(new ScanCommand({ TableName: app }))).Items ?? []).filter(isLeaseItem); // not the 3.x migration/metrics items
    assert.equal(items.length, 4);
    for (const item of items) {
      const last = recorder.byShard(item.leaseKey!.S!).at(-1);
      assert.equal(item.checkpoint?.S, last?.sequenceNumber, `checkpoint of ${item.leaseKey!.S} is its last record`);
    }
    assert.deepEqual(await consumersOf(stream), [{ name: app, status: 'ACTIVE' }], 'consumerName defaults to applicationName');
    assert.ok(logger.lines.some((l) => l.msg?.includes('Registered the stream consumer')));
    assert.ok(!JSON.stringify(logger.lines).includes(credentials.secretAccessKey + '"'), 'no credentials in the logs');

    // Restart from the checkpoints (AT_SEQUENCE_NUMBER, the checkpointed record filtered out).
    const more = await putRecords(env.kinesis, stream, makeRecords(60, 'second', 40));
    const again = new Recorder();
    const second = scheduler({ applicationName: app, streamName: stream, processorFactory: recordingFactory(again) });
    const running2 = start(second);
    await waitFor(() => again.deliveries.length >= 60, 'the 60 new records');
    // One more event round per shard: anything redelivered would have arrived by now.
    const marker = await putRecords(env.kinesis, stream, makeRecords(4, 'marker', 4));
    await waitFor(() => again.deliveries.length >= 64, 'the markers');
    await second.startGracefulShutdown();
    await running2;
    assertPerShardExactly(again, [...more, ...marker]);
    assert.ok(again.calls.filter((c) => c.method === 'initialize').every((c) => /^\d+$/.test(c.at!.sequenceNumber)));
  });

  it('resubscribes from the last continuation after the connection is cut: no gaps, no duplicates', async () => {
    const stream = uniqueName('cut');
    await createStream(env.kinesis, stream, 2);
    const proxy = new CuttableTcpProxy(Number(new URL(env.clientConfig.endpoints.kinesisHttp2!).port));
    const port = await proxy.start();
    const client = fanOutClient(`https://127.0.0.1:${port}`);
    const recorder = new Recorder();
    const logger = recordingLogger();
    const worker = scheduler({ applicationName: uniqueName('app'), streamName: stream, fanOutKinesisClient: client, logger, processorFactory: recordingFactory(recorder) });
    const running = start(worker);
    try {
      const put: PutResult[] = [];
      let round = 0;
      const produce = async (n: number): Promise<void> => void put.push(...(await putRecords(env.kinesis, stream, makeRecords(n, `r${round++}`, 8))));
      await produce(20);
      await waitFor(() => recorder.deliveries.length >= 20, 'records flowing');
      for (let cut = 0; cut < 2; cut++) {
        const connectionsBefore = proxy.connections;
        assert.ok(proxy.cut() > 0, 'there was a subscription to cut');
        await produce(20); // put while the subscriptions are down
        await waitFor(() => proxy.connections > connectionsBefore, 'a new connection after the cut');
        await waitFor(() => recorder.deliveries.length >= put.length, `all ${put.length} records after cut ${cut + 1}`);
      }
      await produce(10);
      await waitFor(() => recorder.deliveries.length >= put.length, 'the last records');
      await worker.shutdown();
      await running;
      assertPerShardExactly(recorder, put);
      assert.ok(
        logger.lines.some((l) => l.msg?.includes('resubscribing') || l.msg?.includes('another active subscription')),
        'the publisher saw the cut and resubscribed',
      );
    } finally {
      await worker.shutdown();
      client.destroy();
      await proxy.stop();
    }
  });

  it('follows a split shard into its children, parent first', async () => {
    const stream = uniqueName('split');
    await createStream(env.kinesis, stream, 1);
    const recorder = new Recorder();
    const ended: string[] = [];
    const worker = scheduler({ applicationName: uniqueName('app'), streamName: stream, processorFactory: recordingFactory(recorder) });
    worker.on('shardEnded', (id) => ended.push(id));
    const running = start(worker);
    const keys = (tag: string): { partitionKey: string; data: string }[] => Array.from({ length: 24 }, (_, i) => ({ partitionKey: `key-${i % 6}`, data: `key-${i % 6}:${tag}${i}` }));
    let before: PutResult[];
    let after: PutResult[];
    let children: string[];
    try {
      before = await putRecords(env.kinesis, stream, keys('p'));
      await waitFor(() => recorder.deliveries.length >= 24, 'the parent records');
      children = await splitShard(env.kinesis, stream, 'shardId-000000000000');
      after = await putRecords(env.kinesis, stream, keys('c'));
      assert.ok(after.every((p) => children.includes(p.shardId)));
      await waitFor(() => recorder.deliveries.length >= 48, 'the children records');
      await worker.startGracefulShutdown();
    } finally {
      await worker.shutdown();
      await running;
    }
    assert.deepEqual(ended, ['shardId-000000000000'], 'the parent ended through an event without continuation');
    assert.deepEqual(recorder.deliveries.map((d) => d.data).slice(0, 24), before.map((p) => p.data), 'parent first');
    for (const child of children) assertPerShardExactly(recorder, after.filter((p) => p.shardId === child));
    assert.ok(recorder.methods('shardId-000000000000').includes('shardEnded'));
  });

  it('de-aggregates KPL records delivered by SubscribeToShard', async () => {
    const stream = uniqueName('kpl');
    await createStream(env.kinesis, stream, 1);
    const users = Array.from({ length: 10 }, (_, i) => ({ partitionKey: `user-${i}`, data: Buffer.from(`agg-rec${i}`) }));
    const [packed] = aggregate(users);
    await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: packed!.partitionKey, Data: packed!.data }] }));
    const recorder = new Recorder();
    const worker = scheduler({ applicationName: uniqueName('app'), streamName: stream, processorFactory: recordingFactory(recorder) });
    const running = start(worker);
    await waitFor(() => recorder.deliveries.length >= 10, 'the ten user records');
    await worker.shutdown();
    await running;
    assert.deepEqual(recorder.deliveries.map((d) => [d.data, d.partitionKey, d.subSequenceNumber]), users.map((u, i) => [`agg-rec${i}`, u.partitionKey, i]));
    assert.equal(new Set(recorder.deliveries.map((d) => d.sequenceNumber)).size, 1, 'user records share the Kinesis record sequence number');
  });

  it('two Schedulers starting at once with one consumerName register one consumer', async () => {
    const stream = uniqueName('race');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    const put = await putRecords(env.kinesis, stream, makeRecords(40, 'x', 8));
    const recorder = new Recorder();
    const workers = [0, 1].map((i) =>
      scheduler({ applicationName: app, workerId: `w${i}`, streamName: stream, retrieval: { mode: 'fanout', consumerName: 'shared-efo' }, processorFactory: recordingFactory(recorder) }),
    );
    const running = workers.map(start);
    await waitFor(() => recorder.deliveries.length >= 40, 'all records');
    await Promise.all(workers.map((w) => w.startGracefulShutdown()));
    await Promise.all(running);
    assert.deepEqual(new Set(recorder.deliveries.map((d) => d.data)), new Set(put.map((p) => p.data)));
    assert.deepEqual(await consumersOf(stream), [{ name: 'shared-efo', status: 'ACTIVE' }]);
  });

  it('multi-stream: each stream registers its own consumer and is read through fan-out', async () => {
    const app = uniqueName('app');
    const streams = [uniqueName('efo-m1'), uniqueName('efo-m2')];
    for (const s of streams) await createStream(env.kinesis, s, 2);
    const put = (await Promise.all(streams.map((s) => putRecords(env.kinesis, s, makeRecords(40, s, 8))))).flat();
    const { factory, seen } = streamRecorder();
    const w = scheduler({ applicationName: app, streams: streams.map((streamName) => ({ streamName })), processorFactory: factory });
    const running = start(w);
    await waitFor(() => seen.length >= put.length, 'every record of both streams through fan-out');
    assert.deepEqual(new Set(seen), new Set(streams.flatMap((s) => makeRecords(40, s, 8).map((r) => `${s}/${r.data}`))));
    for (const s of streams) assert.deepEqual(await consumersOf(s), [{ name: app, status: 'ACTIVE' }], `a consumer on ${s}`);
    await w.shutdown();
    await running;
  });
});
