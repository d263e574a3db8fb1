// One measured consumer, in its own process (the servers run elsewhere). Prints one JSON line.
//   node bench/lib/cpu-child.js <mode> '<json options>'
// modes:
//   empty        nothing at all: the fixed cost of a Node process
//   import-sdk   imports @aws-sdk/client-kinesis + client-dynamodb + @smithy/node-http-handler
//   import-kcl   imports ts-kcl (dist/index.js)
//   raw          raw SDK loop: ListShards, GetShardIterator TRIM_HORIZON per shard, GetRecords (Limit 10000)
//                until every record is read, each shard read by its own loop (as a KCL reads them)
//   kcl          one ts-kcl Scheduler (polling, TRIM_HORIZON), checkpoint once per batch
//   kcl-nocp     the same without checkpointing
// The measured window (cpu, wallMs) starts just before the consumer's clients are built (raw) or
// run() is called (kcl) -- imports are outside it -- and ends when the last record has been handed to
// the application (kcl: after that batch's checkpoint). `processCpu` is the whole process, bootstrap
// and imports included.
import './quiet-sdk-warning.js';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [mode, json = '{}'] = process.argv.slice(2);
const opts = JSON.parse(json);
const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../../dist', import.meta.url));
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'us-east-1';
const us = (c) => c.user + c.system;

// With opts.profileTo, a CPU profile of the measured window only (node:inspector), not of the imports.
let session;
async function profileStart() {
  if (!opts.profileTo) return;
  const { Session } = await import('node:inspector/promises');
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
}
async function profileStop() {
  if (!session) return;
  const { profile } = await session.post('Profiler.stop');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(opts.profileTo, JSON.stringify(profile));
}

// Identical per-record work in both consumers: read the length and the first and last byte.
let touched = 0;
const touch = (data) => {
  touched += data.length + data[0] + data[data.length - 1];
};

function report(extra) {
  const usage = process.resourceUsage();
  const mem = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({
      mode,
      processCpuUs: us(process.cpuUsage()),
      maxRssBytes: usage.maxRSS * 1024,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      touched,
      ...extra,
    }) + '\n',
  );
}

async function raw() {
  const { KinesisClient, ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand } = await import('@aws-sdk/client-kinesis');
  const { NodeHttpHandler } = await import('@smithy/node-http-handler');
  await profileStart();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const kinesis = new KinesisClient({ region, credentials, endpoint: opts.kinesis, requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true } }) });
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: opts.stream }))).Shards;
  let read = 0;
  let calls = 0;
  let firstCpu;
  let firstMs;
  await Promise.all(
    shards.map(async (shard) => {
      let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: opts.stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      // "Caught up": an empty page, or every record of the stream read (no extra empty call at the end).
      while (iterator && read < opts.records) {
        const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10000 }));
        calls++;
        for (const r of out.Records) touch(r.Data);
        if (out.Records.length > 0 && firstCpu === undefined) [firstCpu, firstMs] = [process.cpuUsage(cpu0), performance.now() - t0];
        read += out.Records.length;
        if (out.Records.length === 0) break;
        iterator = out.NextShardIterator;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  await profileStop();
  if (read !== opts.records) throw new Error(`raw loop read ${read} of ${opts.records} records`);
  report({ records: read, cpuUs: us(cpu), userUs: cpu.user, systemUs: cpu.system, wallMs, firstRecordCpuUs: us(firstCpu), firstRecordMs: firstMs, getRecordsCalls: calls });
  kinesis.destroy();
}

async function kcl(checkpoint) {
  const { Scheduler } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
  let delivered = 0;
  let batches = 0;
  let firstCpu;
  let firstMs;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  let cpu0;
  let t0;
  const scheduler = new Scheduler({
    applicationName: opts.app,
    streamName: opts.stream,
    clientConfig: { region, credentials, endpoints: { kinesis: opts.kinesis, dynamodb: opts.dynamodb } },
    initialPosition: 'TRIM_HORIZON',
    retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200 },
    processorFactory: () => ({
      initialize() {},
      async processRecords({ records, checkpointer }) {
        for (const r of records) touch(r.data);
        if (records.length > 0 && firstCpu === undefined) [firstCpu, firstMs] = [process.cpuUsage(cpu0), performance.now() - t0];
        batches++;
        if (checkpoint && records.length > 0) await checkpointer.checkpoint();
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
  let acquired = 0;
  let leasesCpu;
  let leasesMs;
  scheduler.on('leaseAcquired', () => {
    if (++acquired === opts.shards) [leasesCpu, leasesMs] = [process.cpuUsage(cpu0), performance.now() - t0];
  });
  scheduler.on('error', (err) => process.stderr.write(`scheduler error: ${err?.stack ?? err}\n`));
  await profileStart();
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  const running = scheduler.run();
  running.catch((err) => {
    process.stderr.write(`run() failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
  await finished;
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  await profileStop();
  if (delivered !== opts.records) throw new Error(`ts-kcl delivered ${delivered} of ${opts.records} records`);
  report({ records: delivered, cpuUs: us(cpu), userUs: cpu.user, systemUs: cpu.system, wallMs, firstRecordCpuUs: us(firstCpu), firstRecordMs: firstMs, batches, allLeasesCpuUs: leasesCpu && us(leasesCpu), allLeasesMs: leasesMs });
  process.exit(0); // no shutdown traffic after the window
}

const timer = setTimeout(() => {
  process.stderr.write(`${mode}: gave up after ${opts.timeoutMs ?? 60000} ms\n`);
  process.exit(2);
}, opts.timeoutMs ?? 60000);
timer.unref();

switch (mode) {
  case 'empty':
    report({});
    break;
  case 'import-sdk':
    await import('@aws-sdk/client-kinesis');
    await import('@aws-sdk/client-dynamodb');
    await import('@smithy/node-http-handler');
    report({});
    break;
  case 'import-kcl':
    await import(pathToFileURL(path.join(dist, 'index.js')).href);
    report({});
    break;
  case 'raw':
    await raw();
    break;
  case 'kcl':
    await kcl(true);
    break;
  case 'kcl-nocp':
    await kcl(false);
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
