// Runs every benchmark, one after the other, each in its own process, and ends with a table of each
// bench's figure against its baseline measured in the same run.
//   npm run bench            (builds, then runs this)
//   node bench/run.js [--only name,name] [--skip name,name]
// Needs a build (`npm run build`) and Go for the go-kcl bench. Takes ~20 min on 2 cores (go-kcl ~8 of them, lease-capacity ~6). Only loopback; every bench stops by itself.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({ options: { only: { type: 'string' }, skip: { type: 'string' } } });

const num = (s) => Number(s.replace(/,/g, ''));
const BENCHES = [
  {
    name: 'consumer-cpu',
    args: ['bench/consumer-cpu.bench.js'],
    timeoutMs: 180000,
    target: 'ts-kcl <= 1.2x raw loop',
    // consumer-cpu: ts-kcl 11.12 µs/record vs raw SDK loop 7.06 µs/record = 1.58x (target <= 1.2x: NOT met)
    parse: (line) => {
      const m = line.match(/ts-kcl ([\d.]+) µs\/record vs raw SDK loop ([\d.]+) µs\/record = ([\d.]+)x/);
      return m && { figure: `${m[1]} µs/record CPU`, baseline: `raw SDK loop ${m[2]} µs/record`, ratio: `${m[3]}x`, met: num(m[3]) <= 1.2 };
    },
  },
  {
    name: 'memory',
    args: ['bench/memory.bench.js'],
    timeoutMs: 180000,
    target: '100 shards < 100 MB RSS',
    // memory: ts-kcl on 100 shards peak RSS 116.6 MB, steady 112.4 MB vs 63.4 MB for a process importing the SDK clients (1.77x steady; ...)
    parse: (line) => {
      const m = line.match(/peak RSS ([\d.]+) MB, steady ([\d.]+) MB vs ([\d.]+) MB .*\(([\d.]+)x steady/);
      return m && { figure: `peak ${m[1]} MB, steady ${m[2]} MB RSS`, baseline: `SDK import only ${m[3]} MB`, ratio: `${m[4]}x`, met: num(m[1]) < 100 && num(m[2]) < 100 };
    },
  },
  {
    name: 'takeover',
    args: ['bench/takeover.bench.js'],
    timeoutMs: 240000,
    target: '(none; handover < Java-style)',
    // takeover: handover after SIGTERM 0.81 s vs 3.94 s Java-style graceful shutdown (0.20x); takeover after kill -9 ...
    parse: (line) => {
      const m = line.match(/handover after SIGTERM ([\d.]+) s vs ([\d.]+) s Java-style graceful shutdown \(([\d.]+)x\); takeover after kill -9 ([\d.]+) s.*balance ([\d.]+) s/);
      return (
        m && {
          figure: `handover ${m[1]} s; kill -9 takeover ${m[4]} s; balance ${m[5]} s`,
          baseline: `Java-style graceful ${m[2]} s`,
          ratio: `${m[3]}x`,
          met: num(m[1]) < num(m[2]),
        }
      );
    },
  },
  {
    name: 'go-kcl',
    args: ['bench/go-kcl.bench.js'],
    timeoutMs: 1200000,
    target: 'ts/Go CPU <= 1.0, RSS <= 2.0',
    // go-kcl: ts/Go worst CPU 3.96x, worst RSS 7.31x; drainCpu8 1.56, ... (targets CPU <= 1.0, RSS <= 2.0: NOT met)
    parse: (line) => {
      const m = line.match(/go-kcl: ts\/Go worst CPU ([\d.]+)x, worst RSS ([\d.]+)x; (.*) \(targets/);
      return m && { figure: m[3], baseline: 'Go KCL (vmware-go-kcl-v2 1.0.0)', ratio: `CPU ${m[1]}x, RSS ${m[2]}x`, met: num(m[1]) <= 1 && num(m[2]) <= 2 };
    },
  },
  {
    name: 'lease-capacity',
    args: ['bench/lease-capacity.bench.js'],
    timeoutMs: 900000,
    target: 'per lease-hour <= Java 2.x at 100 and 1,000 leases',
    // lease-capacity: ts/Java per lease-hour 10 leases 1.11x, 100 leases 1.00x, 1000 leases 0.99x
    parse: (line) => {
      const m = line.match(/lease-capacity: ts\/Java per lease-hour (.*)$/);
      const big = m ? [...m[1].matchAll(/(\d+) leases ([\d.]+)x/g)].filter((x) => Number(x[1]) >= 100) : [];
      return m && { figure: m[1], baseline: 'Java KCL 2.x formula, same table', ratio: big.map((x) => `${x[2]}x`).join(' / '), met: big.length > 0 && big.every((x) => num(x[2]) <= 1) };
    },
  },
  {
    name: 'deaggregate',
    args: ['bench/deaggregate.bench.js'],
    timeoutMs: 120000,
    target: '>= 5x aws-kinesis-agg',
    // deaggregate: 4.1x aws-kinesis-agg (4.40 M records/s vs 1.07 M records/s)
    parse: (line) => {
      const m = line.match(/deaggregate: ([\d.]+)x aws-kinesis-agg \(([\d.]+ M records\/s) vs ([\d.]+ M records\/s)\)/);
      return m && { figure: m[2], baseline: `aws-kinesis-agg ${m[3]}`, ratio: `${m[1]}x`, met: num(m[1]) >= 5 };
    },
  },
  {
    name: 'get-records-decode',
    args: ['bench/get-records-decode.bench.js'],
    timeoutMs: 180000,
    target: '(none: the decoder is for memory; CPU near JSON.parse)',
    // get-records-decode: decoder/JSON.parse CPU 1.15, 0.59, 0.27 (medians of 15 rounds, alternating)
    parse: (line) => {
      const m = line.match(/get-records-decode: decoder\/JSON.parse CPU (.*) \(medians/);
      return m && { figure: `CPU per page vs JSON.parse: ${m[1]} (5,000 x 200 B, 10,000 x 1 KiB, 100 x 25 KiB)`, baseline: 'JSON.parse of the text', ratio: m[1].split(', ').at(0) + 'x', met: undefined };
    },
  },
  {
    name: 'latency',
    args: ['--import', 'tsx', 'bench/latency.bench.ts'],
    requires: 'bench/latency.bench.ts',
    timeoutMs: 180000,
    target: '(none set)',
    // summary: fan-out p50 1527 ms vs polling p50 110 ms: fan-out/polling = 13.86x (p95 10.13x); fan-out/bare-SDK p50 = 1.01x: ...
    // (that bench is owned elsewhere: anything else is shown as its own line)
    parse: (line) => {
      const m = line.match(/fan-out p50 ([\d.]+) ms vs polling p50 ([\d.]+) ms.*fan-out\/bare-SDK p50 = ([\d.]+)x/);
      return m && { figure: `fan-out p50 ${m[1]} ms (polling p50 ${m[2]} ms)`, baseline: 'bare SDK SubscribeToShard', ratio: `${m[3]}x`, met: undefined };
    },
  },
];

const pick = (list) => (list ? new Set(list.split(',').map((s) => s.trim())) : undefined);
const only = pick(args.only);
const skip = pick(args.skip) ?? new Set();

if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
  console.error('dist/ is missing: run `npm run build` first (or `npm run bench`, which builds).');
  process.exit(1);
}

function runBench(bench) {
  return new Promise((resolve) => {
    const started = performance.now();
    // Its own process group, so a timeout ends the bench and every process it started.
    const child = spawn(process.execPath, bench.args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let last = '';
    let partial = '';
    let timedOut = false;
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) if (line.trim()) last = line.trim();
    });
    child.stderr.on('data', (d) => process.stderr.write(d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, bench.timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (partial.trim()) last = partial.trim();
      resolve({ code, signal, timedOut, last, seconds: (performance.now() - started) / 1000 });
    });
  });
}

const t0 = performance.now();
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`ts-kcl benchmarks: ${os.cpus().length} cpus (${os.cpus()[0]?.model?.trim()}), node ${process.version}, ${os.platform()} ${os.release()}`);
console.log(`load average at start: ${load()} (anything else running on the machine shares its cores with the benches)`);
const results = [];
for (const bench of BENCHES) {
  if ((only && !only.has(bench.name)) || skip.has(bench.name)) continue;
  console.log(`\n=== ${bench.name}: node ${bench.args.join(' ')}`);
  if (bench.requires && !existsSync(new URL(`../${bench.requires}`, import.meta.url))) {
    console.log(`skipped: ${bench.requires} does not exist (yet)`);
    results.push({ bench, skipped: true });
    continue;
  }
  const r = await runBench(bench);
  const ok = r.code === 0 && !r.timedOut;
  console.log(`--- ${bench.name}: ${ok ? 'done' : r.timedOut ? `TIMED OUT after ${bench.timeoutMs / 1000} s` : `FAILED (${r.signal ?? `exit code ${r.code}`})`} in ${r.seconds.toFixed(0)} s`);
  results.push({ bench, ...r, ok, parsed: ok ? bench.parse(r.last) : undefined });
}

console.log(`\n=== summary (all in this run; total ${((performance.now() - t0) / 1000).toFixed(0)} s; load average at the end ${load()})`);
const rows = [['bench', 'figure', 'baseline (same run)', 'ratio', 'target', 'met']];
for (const r of results) {
  if (r.skipped) rows.push([r.bench.name, 'skipped', '-', '-', r.bench.target, '-']);
  else if (!r.ok) rows.push([r.bench.name, 'FAILED', '-', '-', r.bench.target, 'no']);
  else if (r.parsed) rows.push([r.bench.name, r.parsed.figure, r.parsed.baseline, r.parsed.ratio, r.bench.target, r.parsed.met === undefined ? '-' : r.parsed.met ? 'yes' : 'NO']);
  else rows.push([r.bench.name, '(see line below)', '-', '-', r.bench.target, '-']);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
for (const [i, row] of rows.entries()) {
  console.log(row.map((cell, j) => cell.padEnd(widths[j])).join(' | '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
}
console.log('\nsummary lines:');
for (const r of results) console.log(`  ${r.skipped ? `${r.bench.name}: skipped (${r.bench.requires} not found)` : r.last || `${r.bench.name}: (no output)`}`);
process.exitCode = results.some((r) => !r.skipped && !r.ok) ? 1 : 0;
