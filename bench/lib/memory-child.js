// Memory of one process, sampled every second. Prints one JSON line.
//   node bench/lib/memory-child.js <mode> '<json options>'
// modes:
//   empty      an empty Node process
//   sdk        a Node process that imports @aws-sdk/client-kinesis and @aws-sdk/client-dynamodb (the baseline)
//   raw-poll   a raw SDK loop doing the worker's reading without leases: GetRecords on every shard once
//              a second (HTTP/1.1 keep-alive), for opts.idleMs after reading the preloaded records
//   kcl        one ts-kcl Scheduler (polling, idleTimeBetweenReadsMs 1000, TRIM_HORIZON, lease defaults)
//              until it holds every lease and has delivered every record, then idle for opts.idleMs
// opts.forceGc (with node --expose-gc): a full GC before each sample, so heapUsed is the live heap.
import './quiet-sdk-warning.js';
import { listAllShards } from './list-shards.js';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [mode, json = '{}'] = process.argv.slice(2);
const opts = JSON.parse(json);
const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../../dist', import.meta.url));
const t0 = performance.now();
const samples = [];
const sample = (phase) => {
  if (opts.forceGc && typeof globalThis.gc === 'function') globalThis.gc(); // diagnostics: live heap only
  const m = process.memoryUsage();
  samples.push({ s: Math.round(performance.now() - t0) / 1000, phase, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers });
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Once everything is held and delivered: idle for `opts.idleMs`, sampling memory, and measure the idle CPU. */
async function measureIdle(t0, ticker, setPhase) {
  const readyS = (performance.now() - t0) / 1000;
  const cpuAtReady = process.cpuUsage();
  setPhase('idle');
  sample('idle');
  const idleMs = opts.idleMs ?? 20000;
  await sleep(idleMs);
  sample('idle');
  const idleCpu = process.cpuUsage(cpuAtReady);
  clearInterval(ticker);
  return { readyS, idleCpuUs: idleCpu.user + idleCpu.system, idleMs };
}

function report(extra = {}) {
  process.stdout.write(JSON.stringify({ mode, samples, maxRssBytes: process.resourceUsage().maxRSS * 1024, ...extra }) + '\n');
}

const guard = setTimeout(() => {
  process.stderr.write(`${mode}: gave up after ${opts.timeoutMs ?? 90000} ms\n`);
  process.exit(2);
}, opts.timeoutMs ?? 90000);
guard.unref();

if (mode === 'empty' || mode === 'sdk') {
  if (mode === 'sdk') {
    await import('@aws-sdk/client-kinesis');
    await import('@aws-sdk/client-dynamodb');
  }
  for (let i = 0; i < (opts.seconds ?? 5); i++) {
    sample('idle');
    await sleep(1000);
  }
  sample('idle');
  report();
} else if (mode === 'raw-poll') {
  const { KinesisClient, ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand } = await import('@aws-sdk/client-kinesis');
  await import('@aws-sdk/client-dynamodb');
  const { NodeHttpHandler } = await import('@smithy/node-http-handler');
  let phase = 'starting';
  sample(phase);
  const ticker = setInterval(() => sample(phase), 1000);
  const kinesis = new KinesisClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    endpoint: opts.kinesis,
    requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true } }),
  });
  const shards = await listAllShards(kinesis, ListShardsCommand, opts.stream);
  let delivered = 0;
  let stopAt = Infinity;
  let ready;
  const allReady = new Promise((resolve) => (ready = resolve));
  const loops = shards.map(async (shard) => {
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: opts.stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator && performance.now() < stopAt) {
      const started = performance.now();
      const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10000 }));
      let n = 0;
      for (const r of out.Records) n += r.Data.length + r.Data[0];
      if (n < 0) throw new Error('unreachable');
      delivered += out.Records.length;
      if (delivered >= opts.records) ready();
      iterator = out.NextShardIterator;
      await sleep(1000 - (performance.now() - started));
    }
  });
  await allReady;
  const idle = await measureIdle(t0, ticker, (p) => (phase = p));
  stopAt = 0;
  report({ ...idle, held: shards.length, delivered });
  await Promise.race([Promise.all(loops), sleep(3000)]);
  process.exit(0);
} else if (mode === 'kcl') {
  const { Scheduler } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
  let phase = 'starting';
  sample(phase);
  const ticker = setInterval(() => sample(phase), 1000);
  let delivered = 0;
  let held = 0;
  let ready;
  const allReady = new Promise((resolve) => (ready = resolve));
  const check = () => held >= opts.shards && delivered >= opts.records && ready();
  const scheduler = new Scheduler({
    applicationName: opts.app,
    streamName: opts.stream,
    clientConfig: { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, endpoints: { kinesis: opts.kinesis, dynamodb: opts.dynamodb } },
    initialPosition: 'TRIM_HORIZON',
    retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 1000 },
    processorFactory: () => ({
      initialize() {},
      async processRecords({ records, checkpointer }) {
        let n = 0;
        for (const r of records) n += r.data.length + r.data[0];
        if (n < 0) throw new Error('unreachable');
        if (records.length > 0) await checkpointer.checkpoint();
        delivered += records.length;
        check();
      },
      leaseLost() {},
      async shardEnded({ checkpointer }) {
        await checkpointer.checkpoint();
      },
      async shutdownRequested({ checkpointer }) {
        await checkpointer.checkpoint();
      },
    }),
  });
  scheduler.on('leaseAcquired', () => {
    held++;
    check();
  });
  scheduler.on('error', (err) => process.stderr.write(`scheduler error: ${err?.stack ?? err}\n`));
  const running = scheduler.run();
  running.catch((err) => {
    process.stderr.write(`run() failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
  await allReady;
  const idle = await measureIdle(t0, ticker, (p) => (phase = p));
  report({ ...idle, held: scheduler.heldShardIds().length, delivered });
  await Promise.race([scheduler.startGracefulShutdown(), sleep(5000)]);
  process.exit(0);
} else {
  throw new Error(`unknown mode ${mode}`);
}
