// ts-kcl against the Go KCL (github.com/vmware/vmware-go-kcl-v2 v1.0.0) and the raw SDK loop, side by
// side on the same preloaded streams, in one run: the table of issue 14 with ts/Go ratios.
//   node bench/go-kcl.bench.js [--rounds 3] [--rounds100 3] [--idle 20] [--only 8|100] [--profile]
// --profile: one more ts-kcl run per workload with a CPU profile of its idle window, written to
// .tmp/profiles/idle-<shards>.cpuprofile (summarise with bench/lib/profile-summary.js).
// Set-up builds bench/go-kcl/main.go with the machine's Go (modules from the Go module proxy) into
// bench/.go-kcl-bin/ (gitignored); without Go it says so and exits 0 with "skipped".
// Workloads (each contender a fresh process and a fresh lease table per round, contenders
// alternating, medians of the rounds):
//   8 shards, 40,000 records x 200 B, TRIM_HORIZON, checkpoint per batch, 200 ms polls:
//     CPU to drain, peak RSS, then idle CPU over --idle s and RSS after idling.
//   100 shards, 2,000 records, 1 s polls: idle CPU over --idle s once every record is delivered
//     (every lease held), peak RSS. The Go KCL takes one lease per shard sync (1 s), so each of
//     its rounds takes ~100 s before the idle window.
// The Go program gets the same credentials, endpoints and per-record work (length, first and last
// byte) and a 1 s shard-sync interval (its default takes one lease a minute). Needs `npm run build`.
// Ends with the RSS floor: an empty Node process and one that loaded the SDK clients and ts-kcl, over
// Go's RSS (the RSS targets are 2x Go; the loaded floor alone is above that).
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServerHost, runJsonLines, median, mb, machine } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rounds100: { type: 'string', default: '3' },
    idle: { type: 'string', default: '20' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const ROUNDS_100 = Number(args.rounds100);
const IDLE_MS = Number(args.idle) * 1000;
const GO_DIR = fileURLToPath(new URL('./go-kcl/', import.meta.url));
const GO_BIN = fileURLToPath(new URL('./.go-kcl-bin/go-kcl', import.meta.url));
const CHILD = fileURLToPath(new URL('./lib/lean-child.js', import.meta.url));

/** Builds the Go program unless the binary is newer than its sources; false when Go is missing. */
function buildGo() {
  const newest = Math.max(...['main.go', 'go.mod', 'go.sum'].map((f) => statSync(GO_DIR + f).mtimeMs));
  if (existsSync(GO_BIN) && statSync(GO_BIN).mtimeMs > newest) return true;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return false;
  }
  const started = performance.now();
  execFileSync('go', ['build', '-o', GO_BIN, '.'], { cwd: GO_DIR, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, GOFLAGS: '-buildvcs=false' } });
  console.log(`built ${GO_BIN} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

if (!buildGo()) {
  console.log('go-kcl: skipped (no `go` on PATH: the Go KCL baseline needs Go and the Go module proxy)');
  process.exit(0);
}

const s = (us) => `${(us / 1e6).toFixed(2)} s`;
const byPhase = (lines, phase) => lines.find((l) => l.phase === phase) ?? {};

const servers = await startServerHost();
const rows = [];
/** Per row key (drainCpu8, peakRss8, ...): Go's value and ts/Go. */
const compared = {};
try {
  console.log(`machine: ${machine()}`);
  let app = 0;
  const contender = async (name, workload, extra) => {
    const opts = { kinesis: servers.kinesis, dynamodb: servers.dynamodb, ...workload, app: `bench-go-${process.pid}-${++app}`, idleMs: IDLE_MS, ...extra };
    const timeoutMs = IDLE_MS + 240000;
    const lines = name === 'go' ? await runJsonLines(GO_BIN, [JSON.stringify(opts)], { timeoutMs }) : await runJsonLines(process.execPath, [CHILD, name, JSON.stringify({ ...opts, timeoutMs })], { timeoutMs });
    const drained = byPhase(lines, 'drained');
    const idle = byPhase(lines, 'idle');
    if (drained.records !== workload.records) throw new Error(`${name} delivered ${drained.records} of ${workload.records} records`);
    return {
      cpuUs: drained.cpuUs,
      wallMs: drained.wallMs,
      peakRss: Math.max(drained.maxRssBytes ?? 0, idle.maxRssBytes ?? 0),
      drainRss: drained.maxRssBytes,
      idleCpuUs: idle.idleCpuUs,
      idleRss: idle.rssBytes,
      idleHeap: idle.heapUsedBytes ?? idle.heapInUseBytes,
    };
  };

  const runWorkload = async (label, workload, rounds, names) => {
    const stream = `bench-go-${workload.shards}-${process.pid}`;
    await servers.call('createStream', { name: stream, shards: workload.shards });
    const loaded = await servers.call('preload', { name: stream, records: workload.records, bytes: 200, keys: Math.max(1000, workload.records) });
    console.log(`\n${label}: ${workload.records} records x 200 B over ${workload.shards} shards (preloaded in ${loaded.ms} ms), ${workload.pollMs} ms polls, idle window ${IDLE_MS / 1000} s`);
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const name of names) {
        const r = await contender(name, { ...workload, stream }, {});
        runs[name].push(r);
        const idle = r.idleCpuUs === undefined ? '' : `, idle CPU ${s(r.idleCpuUs)}, RSS after idling ${mb(r.idleRss)}`;
        console.log(`  round ${round} ${name.padEnd(4)} drain CPU ${s(r.cpuUs)} (wall ${(r.wallMs / 1000).toFixed(1)} s), peak RSS ${mb(r.peakRss)}${idle}`);
      }
    }
    if (args.profile) {
      const dir = fileURLToPath(new URL('../.tmp/profiles/', import.meta.url));
      mkdirSync(dir, { recursive: true });
      await contender('kcl', { ...workload, stream }, { profileTo: `${dir}idle-${workload.shards}.cpuprofile` });
      console.log(`  CPU profile of a ts-kcl idle window: ${dir}idle-${workload.shards}.cpuprofile`);
    }
    return Object.fromEntries(
      Object.entries(runs).map(([n, list]) => [n, Object.fromEntries(['cpuUs', 'wallMs', 'peakRss', 'idleCpuUs', 'idleRss', 'idleHeap'].map((k) => [k, list[0][k] === undefined ? undefined : median(list.map((r) => r[k]))]))]),
    );
  };

  const row = (work, go, ts, fmt, key, raw) => {
    const ratio = ts / go;
    compared[key] = { go, ratio };
    rows.push([work, fmt(go), fmt(ts), `${ratio.toFixed(2)}`, raw === undefined ? '-' : fmt(raw)]);
  };
  const only = args.only;
  if (!only || only === '8') {
    const m = await runWorkload('8 shards', { shards: 8, records: 40000, pollMs: 200 }, ROUNDS, ['go', 'kcl', 'raw']);
    row('8 shards, 40,000 records, TRIM_HORIZON, checkpoint per batch: CPU to drain', m.go.cpuUs, m.kcl.cpuUs, s, 'drainCpu8', m.raw.cpuUs);
    row('same: peak RSS', m.go.peakRss, m.kcl.peakRss, mb, 'peakRss8', m.raw.peakRss);
    row(`same: idle CPU over ${IDLE_MS / 1000} s after draining (200 ms polls)`, m.go.idleCpuUs, m.kcl.idleCpuUs, s, 'idleCpu8');
    row('same: RSS after idling', m.go.idleRss, m.kcl.idleRss, mb, 'idleRss8');
    console.log(`  heap after idling: Go HeapInuse ${mb(m.go.idleHeap)}, ts-kcl heapUsed ${mb(m.kcl.idleHeap)}; wall to drain: Go ${(m.go.wallMs / 1000).toFixed(1)} s, ts-kcl ${(m.kcl.wallMs / 1000).toFixed(1)} s, raw ${(m.raw.wallMs / 1000).toFixed(1)} s`);
  }
  if (!only || only === '100') {
    const m = await runWorkload('100 shards', { shards: 100, records: 2000, pollMs: 1000 }, ROUNDS_100, ['go', 'kcl']);
    row(`100 shards, 1 s polls: idle CPU over ${IDLE_MS / 1000} s`, m.go.idleCpuUs, m.kcl.idleCpuUs, s, 'idleCpu100');
    row('100 shards: peak RSS', m.go.peakRss, m.kcl.peakRss, mb, 'peakRss100');
    row('100 shards: RSS after idling', m.go.idleRss, m.kcl.idleRss, mb, 'idleRss100');
    console.log(`  heap after idling: Go HeapInuse ${mb(m.go.idleHeap)}, ts-kcl heapUsed ${mb(m.kcl.idleHeap)}; time until every record was delivered: Go ${(m.go.wallMs / 1000).toFixed(1)} s, ts-kcl ${(m.kcl.wallMs / 1000).toFixed(1)} s`);
  }
} finally {
  await servers.stop();
}

// The RSS floor: what a Node process is before any work, empty and with what ts-kcl loads (the two SDK
// clients and ts-kcl), against the RSS rows' target (2x Go). Below this no Node consumer can go.
const floorRss = async (code) => (await runJsonLines(process.execPath, ['--input-type=module', '-e', `${code}; setTimeout(() => console.log(JSON.stringify({ rss: process.memoryUsage().rss })), 500);`]))[0].rss;
const emptyNode = median([await floorRss(''), await floorRss(''), await floorRss('')]);
const distUrl = new URL('../dist/index.js', import.meta.url).href;
const loaded = `await import('@aws-sdk/client-kinesis'); await import('@aws-sdk/client-dynamodb'); await import(${JSON.stringify(distUrl)})`;
const loadedNode = median([await floorRss(loaded), await floorRss(loaded), await floorRss(loaded)]);

const header = ['work', 'Go KCL', 'ts-kcl', 'ts/Go', 'raw SDK loop'];
console.log(`\nmedians (rounds: 8 shards ${ROUNDS}, 100 shards ${ROUNDS_100}), contenders alternating in this run:\n`);
console.log(`| ${header.join(' | ')} |`);
console.log(`| ${header.map(() => '---').join(' | ')} |`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
const floorRatios = Object.entries(compared).filter(([k]) => k.includes('Rss')).map(([k, { go }]) => `${k} ${(loadedNode / go).toFixed(2)}`);
console.log(`\nRSS floor (before any work, medians of 3): empty Node ${mb(emptyNode)}, Node with the SDK clients and ts-kcl loaded ${mb(loadedNode)}; the loaded floor over Go's RSS: ${floorRatios.join(', ')}`);
// Targets (issue 14): CPU ts/Go <= 1.0, RSS ts/Go <= 2.0.
const cpuKeys = Object.keys(compared).filter((k) => k.includes('Cpu'));
const rssKeys = Object.keys(compared).filter((k) => k.includes('Rss'));
const worst = (keys) => Math.max(...keys.map((k) => compared[k].ratio));
const met = cpuKeys.every((k) => compared[k].ratio <= 1.0) && rssKeys.every((k) => compared[k].ratio <= 2.0);
console.log('');
console.log(
  `go-kcl: ts/Go worst CPU ${worst(cpuKeys).toFixed(2)}x, worst RSS ${worst(rssKeys).toFixed(2)}x; ` +
    Object.entries(compared).map(([k, { ratio }]) => `${k} ${ratio.toFixed(2)}`).join(', ') +
    ` (targets CPU <= 1.0, RSS <= 2.0: ${met ? 'met' : 'NOT met'})`,
);
