// Balance quality: does the fleet spread CPU (KCL 3.x mode) or lease counts (2.x mode)?
//   node bench/kcl3-balance.bench.js [--client-version compatible-with-2.x,3.x] [--workers 3]
//     [--shards 12] [--hot 2] [--hot-ms 12] [--cold-ms 0.6] [--settle 120] [--window 40]
// Per mode, one after the other on the same servers: a stream of --shards shards with continuous
// production (~20 records/s per shard, random keys), W worker processes (bench/lib/balance-child.js,
// each with ProcessCpuWorkerMetric: they share a cgroup) whose processors spin --hot-ms of CPU time per record
// on the first --hot shards and --cold-ms on the others. 3.x mode runs with short intervals (leader
// assignment every 5 s, metrics reported every 5 s; Java's defaults are 20 s and 30 s). Once every
// lease is held, the fleet gets --settle s, then each worker's CPU (process.cpuUsage) is sampled over
// --window s: the spread (max-min, coefficient of variation) of the workers' CPU and of their lease
// counts. Needs `npm run build`.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServerHost, spawnNode, waitFor, sleep, machine } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    'client-version': { type: 'string', default: 'compatible-with-2.x,3.x' },
    workers: { type: 'string', default: '3' },
    shards: { type: 'string', default: '12' },
    hot: { type: 'string', default: '2' },
    'hot-ms': { type: 'string', default: '12' },
    'cold-ms': { type: 'string', default: '0.6' },
    settle: { type: 'string', default: '120' },
    window: { type: 'string', default: '40' },
  },
});
const MODES = args['client-version'].split(',');
const WORKERS = Number(args.workers);
const SHARDS = Number(args.shards);
const CHILD = fileURLToPath(new URL('./lib/balance-child.js', import.meta.url));
const shardId = (i) => `shardId-${String(i).padStart(12, '0')}`;
const HOT = Array.from({ length: Number(args.hot) }, (_, i) => shardId(i));
const LEASE = {
  '3.x': { leaseAssignmentIntervalMs: 5000, workerUtilizationAwareAssignment: { workerMetricsReporterFreqMs: 5000 } },
  'compatible-with-2.x': { maxLeasesToStealAtOneTime: 2 },
};

const spread = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { min: Math.min(...xs), max: Math.max(...xs), mean, cv: mean ? sd / mean : 0 };
};

async function runMode(servers, mode) {
  const tag = `${mode.replace(/\W/g, '')}-${process.pid}`;
  const stream = `bench-bal-${tag}`;
  await servers.call('createStream', { name: stream, shards: SHARDS });
  const latest = new Map();
  const moves = { count: 0 };
  const children = Array.from({ length: WORKERS }, (_, i) =>
    spawnNode([CHILD, JSON.stringify({
      kinesis: servers.kinesis, dynamodb: servers.dynamodb, stream, app: `bench-bal-app-${tag}`, workerId: `w${i + 1}`, clientVersion: mode,
      hotShards: HOT, hotMsPerRecord: Number(args['hot-ms']), coldMsPerRecord: Number(args['cold-ms']), lease: LEASE[mode] ?? {},
    })], {
      onLine: (line) => {
        if (!line.startsWith('{')) return;
        const s = JSON.parse(line);
        const prev = latest.get(i);
        if (prev) moves.count += s.held.filter((k) => !prev.held.includes(k)).length;
        latest.set(i, s);
      },
    }),
  );
  try {
    await servers.call('startProducer', { name: stream, perTick: 2 * SHARDS, tickMs: 100 });
    const held = () => [...latest.values()].reduce((sum, s) => sum + s.held.length, 0);
    const t0 = performance.now();
    await waitFor(() => latest.size === WORKERS && held() === SHARDS, `${mode}: ${SHARDS} leases held`, 180000, 250);
    const heldAfterS = (performance.now() - t0) / 1000;
    // Lease counts (hot leases) every 10 s until the window ends: converging, or moving back and forth?
    const timeline = [];
    const sample = () => timeline.push([...latest.entries()].sort(([a], [b]) => a - b).map(([, s]) => `${s.held.length}(${s.held.filter((k) => HOT.includes(k)).length})`).join('/'));
    sample();
    const ticker = setInterval(sample, 10000).unref();
    await sleep(Number(args.settle) * 1000);
    const before = [...latest.entries()].map(([i, s]) => [i, structuredClone(s)]);
    const movesBefore = moves.count;
    const w0 = performance.now();
    await sleep(Number(args.window) * 1000);
    const seconds = (performance.now() - w0) / 1000;
    clearInterval(ticker);
    const workers = before.map(([i, b]) => {
      const a = latest.get(i);
      return {
        id: `w${i + 1}`,
        cpuPercent: ((a.cpuMicros - b.cpuMicros) / 1e6 / seconds) * 100,
        leases: a.held.length,
        hot: a.held.filter((k) => HOT.includes(k)).length,
        recordsPerS: (a.records - b.records) / seconds,
      };
    });
    const { produced, errors } = await servers.call('stopProducer');
    return { mode, heldAfterS, timeline, workers, movesInWindow: moves.count - movesBefore, movesTotal: moves.count, produced, errors, cpu: spread(workers.map((w) => w.cpuPercent)), leases: spread(workers.map((w) => w.leases)) };
  } finally {
    await servers.call('stopProducer').catch(() => undefined);
    for (const child of children) child.kill('SIGKILL');
    await servers.call('deleteStream', { name: stream }).catch(() => undefined);
  }
}

const servers = await startServerHost();
const results = [];
try {
  console.log(`machine: ${machine()}`);
  console.log(`${SHARDS} shards, hot ${HOT.join(', ')} (${args['hot-ms']} ms a record, others ${args['cold-ms']} ms), ${WORKERS} workers, settle ${args.settle} s, window ${args.window} s`);
  for (const mode of MODES) {
    const r = await runMode(servers, mode);
    results.push(r);
    console.log(`\n${mode}: every lease held after ${r.heldAfterS.toFixed(0)} s; lease moves ${r.movesTotal} in all, ${r.movesInWindow} in the window; produced ${r.produced} (${r.errors} failed)`);
    console.log(`  lease counts w1/w2/w3 (hot) every 10 s: ${r.timeline.join(' ')}`);
    for (const w of r.workers) console.log(`  ${w.id}: CPU ${w.cpuPercent.toFixed(1)} % of a core, ${w.leases} leases (${w.hot} hot), ${w.recordsPerS.toFixed(0)} records/s`);
  }
} finally {
  await servers.stop();
}
console.log('\n| mode | CPU % per worker | CPU max-min | CPU CV | leases per worker (hot) | lease max-min | moves in window |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.mode} | ${r.workers.map((w) => w.cpuPercent.toFixed(1)).join(' / ')} | ${(r.cpu.max - r.cpu.min).toFixed(1)} | ${r.cpu.cv.toFixed(2)} | ${r.workers.map((w) => `${w.leases} (${w.hot})`).join(' / ')} | ${r.leases.max - r.leases.min} | ${r.movesInWindow} |`);
}
console.log(`\nkcl3-balance: ${results.map((r) => `${r.mode} CPU CV ${r.cpu.cv.toFixed(2)} (max-min ${(r.cpu.max - r.cpu.min).toFixed(1)} pts), lease max-min ${r.leases.max - r.leases.min}`).join('; ')}`);
