// Memory of one ts-kcl worker holding 100 shards, against a Node process that merely imports the
// SDK clients.   node bench/memory.bench.js [--shards 100] [--idle 20]
// kinesalite + dynalite run in their own process; the worker runs in a child that samples its RSS and
// heapUsed every second: while it starts, takes every lease and delivers the preloaded records, then
// while it idles (polling every shard once a second, renewing 100 leases). Target: < 100 MB RSS.
// Needs `npm run build`. Takes ~55 s.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServerHost, runNode, median, mb, machine } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    shards: { type: 'string', default: '100' },
    records: { type: 'string', default: '2000' },
    idle: { type: 'string', default: '20' },
  },
});
const SHARDS = Number(args.shards);
const RECORDS = Number(args.records);
const IDLE_MS = Number(args.idle) * 1000;
const TARGET = 100 * 1048576;
const CHILD = fileURLToPath(new URL('./lib/memory-child.js', import.meta.url));

const servers = await startServerHost();
try {
  const stream = `bench-mem-${process.pid}`;
  await servers.call('createStream', { name: stream, shards: SHARDS });
  await servers.call('preload', { name: stream, records: RECORDS, bytes: 200, keys: RECORDS });
  console.log(`machine: ${machine()}`);
  console.log(`data: ${RECORDS} records x 200 bytes over a ${SHARDS}-shard kinesalite stream (about ${Math.round(RECORDS / SHARDS)} a shard)`);

  const empty = await runNode([CHILD, 'empty', JSON.stringify({ seconds: 3 })]);
  const sdk = await runNode([CHILD, 'sdk', JSON.stringify({ seconds: 5 })]);
  const worker = (mode, idleMs, flags = [], app = '') =>
    runNode([...flags, CHILD, mode, JSON.stringify({ kinesis: servers.kinesis, dynamodb: servers.dynamodb, stream, app: `bench-mem-app-${process.pid}${app}`, shards: SHARDS, records: RECORDS, idleMs })], {
      timeoutMs: idleMs + 120000,
    });
  const kcl = await worker('kcl', IDLE_MS);
  // For reference, not the target's baseline: the same reading with the bare SDK (no leases), and
  // ts-kcl again with V8's heap capped (what an operator can do with NODE_OPTIONS).
  const rawPoll = await worker('raw-poll', IDLE_MS / 2);
  const CAPS = ['--max-semi-space-size=1', '--max-old-space-size=48'];
  const capped = await worker('kcl', IDLE_MS / 2, CAPS, '-capped');

  const steady = (r) => median(r.samples.filter((s) => s.phase === 'idle').map((s) => s.rss));
  const peak = (r) => Math.max(r.maxRssBytes, ...r.samples.map((s) => s.rss));
  const idle = kcl.samples.filter((s) => s.phase === 'idle');
  console.log('');
  console.log('ts-kcl worker, one sample a second (s since start: rss / heapUsed):');
  console.log('  ' + kcl.samples.map((s) => `${s.s.toFixed(0)}s ${(s.rss / 1048576).toFixed(0)}/${(s.heapUsed / 1048576).toFixed(0)}${s.phase === 'idle' ? '' : '*'}`).join('  '));
  console.log('  (* = before it held every lease and had delivered every record)');
  console.log(`  held ${kcl.held} leases and delivered ${kcl.delivered} records ${kcl.readyS.toFixed(1)} s after start`);
  console.log(`  idle ${(kcl.idleMs / 1000).toFixed(0)} s: CPU ${(kcl.idleCpuUs / 1000).toFixed(0)} ms (${((100 * kcl.idleCpuUs) / 1000 / kcl.idleMs).toFixed(1)}% of one core), heapUsed ${mb(Math.min(...idle.map((s) => s.heapUsed)))}..${mb(Math.max(...idle.map((s) => s.heapUsed)))}`);
  console.log('');
  console.log(`  empty node process:              peak RSS ${mb(peak(empty))}, steady ${mb(steady(empty))}`);
  console.log(`  node importing the SDK clients:  peak RSS ${mb(peak(sdk))}, steady ${mb(steady(sdk))}, heapUsed ${mb(sdk.samples.at(-1).heapUsed)}   (baseline)`);
  console.log(`  ts-kcl worker on ${SHARDS} shards:     peak RSS ${mb(peak(kcl))}, steady ${mb(steady(kcl))} (median while idle), heapUsed ${mb(idle.at(-1).heapUsed)} at the end`);
  console.log('  for reference:');
  const idleCpu = (r) => `${((100 * r.idleCpuUs) / 1000 / r.idleMs).toFixed(1)}% of a core`;
  console.log(`  raw SDK loop, GetRecords on ${SHARDS} shards once a second, no leases: peak RSS ${mb(peak(rawPoll))}, steady ${mb(steady(rawPoll))}, idle CPU ${idleCpu(rawPoll)} (${rawPoll.idleMs / 1000} s)`);
  console.log(`  ts-kcl with node ${CAPS.join(' ')}: peak RSS ${mb(peak(capped))}, steady ${mb(steady(capped))}, idle CPU ${idleCpu(capped)} (${capped.idleMs / 1000} s)`);
  console.log('');
  const met = peak(kcl) < TARGET && steady(kcl) < TARGET;
  console.log(
    `memory: ts-kcl on ${SHARDS} shards peak RSS ${mb(peak(kcl))}, steady ${mb(steady(kcl))} vs ${mb(steady(sdk))} for a process importing the SDK clients ` +
      `(${(steady(kcl) / steady(sdk)).toFixed(2)}x steady; target < 100 MB RSS: ${met ? 'met' : 'NOT met'})`,
  );
} finally {
  await servers.stop();
}
