// Put-to-process latency: enhanced fan-out against polling (idleTimeBetweenReadsMs 200), same server,
// one run.   node --import tsx bench/latency.bench.ts [--records N] [--rate N] [--shards N]
// Starts kinesis-local (HTTP/2 TLS port for SubscribeToShard) and dynalite itself. For each mode: a
// fresh stream, one Scheduler, and once every shard is being read, RECORDS records put one PutRecord at
// a time at a steady RATE per second. A record's latency is the time its processRecords call starts
// minus the time just before its PutRecord (one process, performance.now()). A third row, the baseline,
// is the bare SDK: SubscribeToShard on every shard, latency taken when the event stream yields the record,
// no KCL at all; it shows how much of fan-out's latency is the server's. Takes ~45 s.
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  DescribeStreamConsumerCommand,
  ListShardsCommand,
  PutRecordCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startLocalServers } from '../src/local/local-servers.ts';
import { EventStreamHttp2Handler } from '../src/common/event-stream-http2-handler.ts';
import { Scheduler, type SchedulerConfig } from '../src/index.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '300' },
    rate: { type: 'string', default: '25' },
    shards: { type: 'string', default: '2' },
  },
});
const RECORDS = Number(args.records);
const RATE = Number(args.rate);
const SHARDS = Number(args.shards);
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'us-east-1';

type Mode = 'fanout' | 'polling' | 'raw';
interface Result {
  mode: Mode;
  latencies: number[];
  missing: number;
  cpuMs: number;
}

const servers = await startLocalServers({ kinesis: 'kinesis-local' });
const kinesis = new KinesisClient({ region, credentials, endpoint: servers.kinesis.endpoint, requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true } }) });
// The bench trusts exactly kinesis-local's self-signed certificate (it names no host); the library's
// defaults verify certificates as usual.
const kinesisLocalCert = (JSON.parse(readFileSync(new URL('server.json', `file://${createRequire(import.meta.url).resolve('kinesis-local/main.js')}`), 'utf8')) as { server: { cert: string } }).server.cert;
const fanOut = new KinesisClient({
  region,
  credentials,
  endpoint: servers.kinesis.http2Endpoint!,
  requestHandler: new EventStreamHttp2Handler({ nodeHttp2ConnectOptions: { ca: kinesisLocalCert, checkServerIdentity: () => undefined } }),
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A fresh stream; its ARN once ACTIVE. */
async function createStream(name: string): Promise<string> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: SHARDS }));
  for (;;) {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return d.StreamDescriptionSummary.StreamARN!;
    await sleep(50);
  }
}

/** RECORDS PutRecord calls at a steady RATE; `putAt` gets the time just before each. */
async function produce(mode: Mode, stream: string, putAt: Map<string, number>): Promise<void> {
  const interval = 1000 / RATE;
  const start = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    await sleep(start + i * interval - performance.now());
    const id = `${mode}-${i}`;
    putAt.set(id, performance.now());
    await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: `pk-${i}`, Data: Buffer.from(id) }));
  }
}

/** The baseline: the SDK's SubscribeToShard on every shard, nothing else. */
async function runRaw(): Promise<Result> {
  const stream = `latency-raw-${process.pid}`;
  const streamArn = await createStream(stream);
  const registered = await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: 'raw' }));
  const consumerArn = registered.Consumer!.ConsumerARN!;
  for (;;) {
    const d = await kinesis.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerARN: consumerArn }));
    if (d.ConsumerDescription?.ConsumerStatus === 'ACTIVE') break;
    await sleep(100);
  }
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!.map((s) => s.ShardId!);
  const putAt = new Map<string, number>();
  const latencies: number[] = [];
  const reading = new Set<string>();
  const stop = new AbortController();
  const readers = shards.map(async (shardId) => {
    const out = await fanOut.send(new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: { Type: 'TRIM_HORIZON' } }), { abortSignal: stop.signal });
    for await (const message of out.EventStream!) {
      const now = performance.now();
      reading.add(shardId);
      for (const r of message.SubscribeToShardEvent?.Records ?? []) {
        const at = putAt.get(Buffer.from(r.Data!).toString());
        if (at !== undefined) latencies.push(now - at);
      }
    }
  });
  await until(() => reading.size === shards.length, 'raw: every shard subscribed');
  const cpu = process.cpuUsage();
  await produce('raw', stream, putAt);
  await until(() => latencies.length >= RECORDS, 'raw: every record received', 20000).catch(() => undefined);
  const used = process.cpuUsage(cpu);
  stop.abort();
  await Promise.allSettled(readers);
  return { mode: 'raw', latencies, missing: RECORDS - latencies.length, cpuMs: (used.user + used.system) / 1000 };
}

async function run(mode: Exclude<Mode, 'raw'>): Promise<Result> {
  const stream = `latency-${mode}-${process.pid}`;
  await createStream(stream);
  const putAt = new Map<string, number>();
  const latencies: number[] = [];
  const reading = new Set<string>();
  const config: SchedulerConfig = {
    applicationName: `latency-${mode}-${process.pid}`,
    streamName: stream,
    clientConfig: { region, credentials, endpoints: { kinesis: servers.kinesis.endpoint, dynamodb: servers.dynamodb.endpoint } },
    fanOutKinesisClient: fanOut,
    initialPosition: 'TRIM_HORIZON',
    retrieval: mode === 'fanout' ? { mode: 'fanout' } : { mode: 'polling', idleTimeBetweenReadsMs: 200 },
    lease: { failoverTimeMs: 3000, takerIntervalMs: 300, shardSyncIntervalMs: 60000 },
    coordinator: { initializationBackoffMs: 100 },
    processor: { callProcessRecordsEvenForEmptyRecordList: true },
    metrics: { level: 'NONE' },
    processorFactory: ({ shardId }) => ({
      initialize: () => undefined,
      processRecords: ({ records }) => {
        const now = performance.now();
        reading.add(shardId);
        for (const r of records) {
          const at = putAt.get(Buffer.from(r.data).toString());
          if (at !== undefined) latencies.push(now - at);
        }
      },
      leaseLost: () => undefined,
      shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: () => undefined,
    }),
  };
  const scheduler = new Scheduler(config);
  const running = scheduler.run();
  // Measure from the moment every shard is being read (for fan-out: subscribed and receiving events).
  await until(() => reading.size === SHARDS, `${mode}: every shard read`);
  const cpu = process.cpuUsage();
  await produce(mode, stream, putAt);
  await until(() => latencies.length >= RECORDS, `${mode}: every record processed`, 20000).catch(() => undefined);
  const used = process.cpuUsage(cpu);
  await scheduler.shutdown();
  await running;
  return { mode, latencies, missing: RECORDS - latencies.length, cpuMs: (used.user + used.system) / 1000 };
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const stats = (r: Result): { p50: number; p95: number; max: number } => {
  const s = [...r.latencies].sort((a, b) => a - b);
  return { p50: pct(s, 50), p95: pct(s, 95), max: s.at(-1) ?? NaN };
};

const started = Date.now();
try {
  const results: Result[] = [];
  for (const mode of ['fanout', 'polling'] as const) results.push(await run(mode));
  results.push(await runRaw());
  console.log(`put-to-process latency on kinesis-local: ${RECORDS} records per mode, one PutRecord every ${(1000 / RATE).toFixed(0)} ms over ${SHARDS} shards; ${cpus().length} cores, Node ${process.version}`);
  console.log('| mode | records | p50 ms | p95 ms | max ms | process CPU ms |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const rows = results.map((r) => ({ r, s: stats(r) }));
  for (const { r, s } of rows) {
    const label = { fanout: 'ts-kcl fan-out (SubscribeToShard, HTTP/2)', polling: 'ts-kcl polling (idleTimeBetweenReadsMs 200)', raw: 'baseline: bare SDK SubscribeToShard' }[r.mode];
    console.log(`| ${label} | ${r.latencies.length}${r.missing ? ` (${r.missing} missing)` : ''} | ${s.p50.toFixed(0)} | ${s.p95.toFixed(0)} | ${s.max.toFixed(0)} | ${r.cpuMs.toFixed(0)} |`);
  }
  const fan = rows.find((x) => x.r.mode === 'fanout')!.s;
  const poll = rows.find((x) => x.r.mode === 'polling')!.s;
  const raw = rows.find((x) => x.r.mode === 'raw')!.s;
  console.log(
    `summary: fan-out p50 ${fan.p50.toFixed(0)} ms vs polling p50 ${poll.p50.toFixed(0)} ms: fan-out/polling = ${(fan.p50 / poll.p50).toFixed(2)}x (p95 ${(fan.p95 / poll.p95).toFixed(2)}x); ` +
      `fan-out/bare-SDK p50 = ${(fan.p50 / raw.p50).toFixed(2)}x: the fan-out latency is kinesis-local's (an event about once a second, new records ~1-2 ticks late), not the library's (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
} finally {
  fanOut.destroy();
  kinesis.destroy();
  await servers.stop();
}
