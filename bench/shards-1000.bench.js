// One ts-kcl worker on a 1,000-shard kinesalite stream (1 s polls, default lease settings, renewals in
// the renewal thread): time to hold every lease and deliver 4,000 preloaded records, then idle CPU and
// RSS over 30 s. Issue 14 asks for idle CPU under one core and bounded memory.
//   node bench/shards-1000.bench.js          (needs `npm run build`; gives up after 400 s)
import { fileURLToPath } from 'node:url';
import { startServerHost, runJsonLines, mb } from './lib/common.js';
const servers = await startServerHost();
try {
  const stream = `s1000-${process.pid}`;
  await servers.call('createStream', { name: stream, shards: 1000 });
  await servers.call('preload', { name: stream, records: 4000, bytes: 200, keys: 4000 });
  const opts = { kinesis: servers.kinesis, dynamodb: servers.dynamodb, stream, app: `s1000-app-${process.pid}`, shards: 1000, records: 4000, pollMs: 1000, idleMs: 30000, timeoutMs: 400000 };
  const lines = await runJsonLines(process.execPath, [fileURLToPath(new URL('./lib/lean-child.js', import.meta.url)), 'kcl', JSON.stringify(opts)], { timeoutMs: 400000 });
  const d = lines.find((l) => l.phase === 'drained');
  const i = lines.find((l) => l.phase === 'idle');
  console.log(`1000 shards, one worker: all 4000 records delivered after ${(d.wallMs / 1000).toFixed(1)} s wall, ${(d.cpuUs / 1e6).toFixed(2)} s CPU, peak RSS ${mb(d.maxRssBytes)}`);
  console.log(`idle ${i.idleMs / 1000} s: CPU ${(i.idleCpuUs / 1e6).toFixed(2)} s (${((100 * i.idleCpuUs) / 1000 / i.idleMs).toFixed(0)}% of a core), held ${i.held}, RSS ${mb(i.rssBytes)}, heapUsed ${mb(i.heapUsedBytes)}, peak RSS ${mb(i.maxRssBytes)}`);
} finally {
  await servers.stop();
}
