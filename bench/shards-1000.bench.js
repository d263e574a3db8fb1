// One ts-kcl worker on a 1,000-shard kinesalite stream (1 s polls, default lease settings, renewals in
// the renewal thread): time to hold every lease and deliver 4,000 preloaded records, then idle CPU and
// RSS over 30 s. Issue 14 asks for idle CPU under one core and bounded memory.
//   node bench/shards-1000.bench.js [--shards 1000] [--poll 1000] [--idle 30] [--progress 10] [--heap-snapshot file]
// kinesalite and dynalite run in separate processes (a 1,000-shard poll load keeps kinesalite's busy,
// and dynalite must still answer ~300 renewals a second). --progress N prints the worker's leases held,
// records, CPU, memory and event-loop delay every N s. Needs `npm run build`; gives up after 400 s.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServerHost, runJsonLines, mb } from './lib/common.js';

const { values: args } = parseArgs({
  options: { shards: { type: 'string', default: '1000' }, poll: { type: 'string', default: '1000' }, idle: { type: 'string', default: '30' }, progress: { type: 'string', default: '10' }, 'heap-snapshot': { type: 'string' } },
});
const shards = Number(args.shards);
const records = shards * 4;
const servers = await startServerHost({ split: true });
try {
  const stream = `s${shards}-${process.pid}`;
  await servers.call('createStream', { name: stream, shards });
  await servers.call('preload', { name: stream, records, bytes: 200, keys: records });
  const opts = { kinesis: servers.kinesis, dynamodb: servers.dynamodb, stream, app: `s${shards}-app-${process.pid}`, shards, records, pollMs: Number(args.poll), idleMs: Number(args.idle) * 1000, timeoutMs: 400000, progressMs: Number(args.progress) * 1000, ...(args['heap-snapshot'] ? { heapSnapshotTo: args['heap-snapshot'] } : {}) };
  const lines = await runJsonLines(process.execPath, [fileURLToPath(new URL('./lib/lean-child.js', import.meta.url)), 'kcl', JSON.stringify(opts)], { timeoutMs: 400000, showStderr: true });
  const d = lines.find((l) => l.phase === 'drained');
  const i = lines.find((l) => l.phase === 'idle');
  console.log(`${shards} shards, one worker: all ${records} records delivered after ${(d.wallMs / 1000).toFixed(1)} s wall, ${(d.cpuUs / 1e6).toFixed(2)} s CPU, peak RSS ${mb(d.maxRssBytes)}`);
  console.log(`idle ${i.idleMs / 1000} s: CPU ${(i.idleCpuUs / 1e6).toFixed(2)} s (${((100 * i.idleCpuUs) / 1000 / i.idleMs).toFixed(0)}% of a core), held ${i.held}, RSS ${mb(i.rssBytes)}, heapUsed ${mb(i.heapUsedBytes)}, peak RSS ${mb(i.maxRssBytes)}`);
} finally {
  await servers.stop();
}
