// Summarises V8 .cpuprofile files (from `node --cpu-prof` or `consumer-cpu.bench.js --profile`):
// self time by package / source area, the top functions by self time, and the inclusive time
// (whole stacks) under a few ts-kcl entry points. Several files are summed.
//   node bench/lib/profile-summary.js [--top 25] file.cpuprofile [more.cpuprofile ...]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals: files } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });

function area(url) {
  if (url.startsWith('node:')) return 'node internals';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  const d = url.match(/\/dist\/(.*)$/);
  if (d) return `ts-kcl dist/${d[1]}`;
  return url.replace(/^file:\/\//, '');
}

// Stacks whose frames include one of these (by function name or file) count toward the entry point.
const ENTRY_POINTS = [
  ['ts-kcl records conversion (toClientRecords, deaggregate)', (f) => /records-converter\.js$/.test(f.url) || /aggregation\//.test(f.url)],
  ['lease table calls (DynamoDBLeaseRefresher, DynamoDB client)', (f) => /dynamodb-lease-refresher\.js$/.test(f.url) || /client-dynamodb|dynamodb-codec/.test(f.url)],
  ['checkpointing (Checkpointer, LeaseRenewer.updateLease)', (f) => /checkpoint\//.test(f.url) || (f.functionName === 'updateLease' && /lease-renewer/.test(f.url))],
  ['prefetch loop (PrefetchRecordsPublisher, excluding the SDK call)', (f) => /prefetch-records-publisher\.js$/.test(f.url) && f.functionName !== 'run'],
  ['metrics', (f) => /\/metrics\//.test(f.url)],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
];

let total = 0;
let idle = 0;
const fns = new Map();
const areas = new Map();
const entries = new Map(ENTRY_POINTS.map(([name]) => [name, 0]));
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  for (const [id, t] of self) {
    const f = byId.get(id).callFrame;
    if (f.functionName === '(idle)') {
      idle += t;
      continue;
    }
    total += t;
    const key = `${f.functionName || '(anonymous)'}  ${f.url ? f.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/') : ''}:${f.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + t);
    const a = f.url ? area(f.url) : f.functionName.startsWith('(') ? f.functionName : '(native/vm)';
    areas.set(a, (areas.get(a) ?? 0) + t);
    const stack = [];
    for (let n = id; n !== undefined; n = parent.get(n)) stack.push(byId.get(n).callFrame);
    for (const [name, match] of ENTRY_POINTS) if (stack.some(match)) entries.set(name, entries.get(name) + t);
  }
}
const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000 / files.length).toFixed(1).padStart(7)} ms`;
console.log(`${files.length} profile(s): ${(total / 1000 / files.length).toFixed(0)} ms busy (${(idle / 1000 / files.length).toFixed(0)} ms idle) per profile; times below are per profile`);
console.log('self time by area:');
for (const [a, t] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 20)) console.log(`  ${pct(t)}  ${a}`);
console.log('inclusive time (stacks through):');
for (const [name, t] of entries) console.log(`  ${pct(t)}  ${name}`);
console.log(`top ${args.top} functions by self time:`);
for (const [k, t] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, Number(args.top))) console.log(`  ${pct(t)}  ${k}`);
