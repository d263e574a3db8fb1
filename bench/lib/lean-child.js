// One contender of bench/go-kcl.bench.js in its own process: ts-kcl (mode 'kcl') or the raw SDK
// GetRecords loop (mode 'raw', drain only). Prints a "drained" JSON line when every preloaded record
// reached the application (CPU and wall from just before the client/Scheduler is built, peak RSS so
// far), then for 'kcl' idles opts.idleMs and prints an "idle" line (CPU over the window, RSS and
// heapUsed after it), the same two lines bench/go-kcl/main.go prints for the Go KCL.
//   node bench/lib/lean-child.js kcl|raw '{"kinesis","dynamodb","stream","app","records","pollMs","idleMs"}'
import './quiet-sdk-warning.js';
import { listAllShards } from './list-shards.js';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [mode, json = '{}'] = process.argv.slice(2);
const opts = JSON.parse(json);
const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../../dist', import.meta.url));
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const us = (c) => c.user + c.system;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const emit = (phase, extra) => {
  const m = process.memoryUsage();
  process.stdout.write(JSON.stringify({ phase, maxRssBytes: process.resourceUsage().maxRSS * 1024, rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, ...extra }) + '\n');
};

// The Go program's per-record work: length, first and last byte.
let touched = 0;
const touch = (data) => void (touched += data.length + data[0] + data[data.length - 1]);

const guard = setTimeout(() => {
  process.stderr.write(`${mode}: gave up after ${opts.timeoutMs ?? 120000} ms\n`);
  process.exit(2);
}, opts.timeoutMs ?? 120000);
guard.unref();

// CPU profiles (node:inspector) for bench/lib/profile-summary.js: opts.profileTo of the idle window only,
// opts.drainProfileTo of the drain only (main thread: the renewal thread is not in it).
async function profileStart() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return session;
}
async function profileStop(session, file) {
  const { profile } = await session.post('Profiler.stop');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, JSON.stringify(profile));
}

async function raw() {
  const { KinesisClient, ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand } = await import('@aws-sdk/client-kinesis');
  const { NodeHttpHandler } = await import('@smithy/node-http-handler');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const kinesis = new KinesisClient({ region: 'us-east-1', credentials, endpoint: opts.kinesis, requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true } }) });
  const shards = await listAllShards(kinesis, ListShardsCommand, opts.stream);
  let read = 0;
  await Promise.all(
    shards.map(async (shard) => {
      let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: opts.stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      while (iterator && read < opts.records) {
        const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10000 }));
        for (const r of out.Records) touch(r.Data);
        read += out.Records.length;
        if (out.Records.length === 0) break;
        iterator = out.NextShardIterator;
      }
    }),
  );
  emit('drained', { records: read, cpuUs: us(process.cpuUsage(cpu0)), wallMs: performance.now() - t0, touched });
  process.exit(0);
}

async function kcl() {
  const { Scheduler } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
  let delivered = 0;
  let finish;
  const drained = new Promise((resolve) => (finish = resolve));
  const scheduler = new Scheduler({
    applicationName: opts.app,
    streamName: opts.stream,
    clientConfig: { region: 'us-east-1', credentials, endpoints: { kinesis: opts.kinesis, dynamodb: opts.dynamodb } },
    initialPosition: 'TRIM_HORIZON',
    retrieval: { mode: 'polling', idleTimeBetweenReadsMs: opts.pollMs ?? 200, ...(opts.retrieval ?? {}) },
    ...(opts.lease ? { lease: opts.lease } : {}),
    processorFactory: () => ({
      initialize() {},
      async processRecords({ records, checkpointer }) {
        if (records.length === 0) return;
        for (const r of records) touch(r.data);
        await checkpointer.checkpoint();
        delivered += records.length;
        if (delivered >= opts.records) finish();
      },
      leaseLost() {},
      async shardEnded({ checkpointer }) {
        await checkpointer.checkpoint();
      },
      shutdownRequested() {},
    }),
  });
  scheduler.on('error', (err) => process.stderr.write(`scheduler error: ${err?.stack ?? err}\n`));
  // opts.progressMs: a line on stderr every so often (leases held, records, memory, event-loop delay).
  if (opts.progressMs) {
    const { monitorEventLoopDelay } = await import('node:perf_hooks');
    const delay = monitorEventLoopDelay({ resolution: 20 });
    delay.enable();
    const started = performance.now();
    let cpuLast = process.cpuUsage();
    setInterval(() => {
      const m = process.memoryUsage();
      const cpu = process.cpuUsage(cpuLast);
      cpuLast = process.cpuUsage();
      const line = { s: Math.round((performance.now() - started) / 1000), held: scheduler.heldShardIds().length, delivered, cpuPct: Math.round(us(cpu) / 10 / opts.progressMs), rssMb: Math.round(m.rss / 1048576), heapMb: Math.round(m.heapUsed / 1048576), heapTotalMb: Math.round(m.heapTotal / 1048576), extMb: Math.round(m.external / 1048576), abMb: Math.round(m.arrayBuffers / 1048576), lagP99Ms: Math.round(delay.percentile(99) / 1e6), lagMaxMs: Math.round(delay.max / 1e6) };
      delay.reset();
      process.stderr.write(`progress ${JSON.stringify(line)}\n`);
    }, opts.progressMs).unref();
  }
  const drainSession = opts.drainProfileTo ? await profileStart() : undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  scheduler.run().catch((err) => {
    process.stderr.write(`run() failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
  await drained;
  emit('drained', { records: delivered, cpuUs: us(process.cpuUsage(cpu0)), wallMs: performance.now() - t0, touched });
  if (drainSession) await profileStop(drainSession, opts.drainProfileTo);
  const session = opts.profileTo ? await profileStart() : undefined;
  const cpu1 = process.cpuUsage();
  await sleep(opts.idleMs ?? 20000);
  if (session) await profileStop(session, opts.profileTo);
  if (opts.heapSnapshotTo) (await import('node:v8')).writeHeapSnapshot(opts.heapSnapshotTo);
  emit('idle', { records: delivered, idleCpuUs: us(process.cpuUsage(cpu1)), idleMs: opts.idleMs ?? 20000, held: scheduler.heldShardIds().length });
  process.exit(0); // no shutdown traffic: the Go program exits the same way
}

if (mode === 'raw') await raw();
else if (mode === 'kcl') await kcl();
else throw new Error(`unknown mode ${mode}`);
