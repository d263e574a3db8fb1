// Lease-table capacity per lease-hour, KCL 3.x mode against 2.x mode, side by side in one run.
//   node bench/kcl3-capacity.bench.js [--leases 10,100] [--workers 2] [--seconds 100]
//     [--client-version 3.x,compatible-with-2.x]
// Each size: one kinesalite stream with that many shards (no records) per mode, W ts-kcl worker
// processes per mode (bench/lib/capacity-child.js, default lease settings, ProcessCpuWorkerMetric),
// one dynalite lease table per mode (ts-kcl creates it with the LeaseOwnerToLeaseKeyIndex GSI in both
// modes: dynalite cannot add an index later). The modes run at the same time on the same servers.
// Once every lease is held and no lease has been taken or assigned for 45 s, the capacity dynalite bills
// (ReturnConsumedCapacity TOTAL) is summed over --seconds, by operation and by what the call is for
// (bench/lib/call-kind.js), and set against the Java KCL 2.x formula. The default window (100 s) holds
// 5 leader assignment runs (every 20 s) and 3 worker-metrics reports (every 30 s) per worker.
// Needs `npm run build`.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { javaKcl2PerLeaseHour } from './lib/java-kcl2-capacity.js';
import { startServerHost, spawnNode, waitFor, sleep, machine, CREDENTIALS, REGION } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    leases: { type: 'string', default: '10,100' },
    workers: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '100' },
    'client-version': { type: 'string', default: '3.x,compatible-with-2.x' },
  },
});
const SIZES = args.leases.split(',').map(Number);
const MODES = args['client-version'].split(',');
const WORKERS = Number(args.workers);
const WINDOW_MS = Number(args.seconds) * 1000;
const STABLE_MS = 45000; // over two 2.x taker rounds (20 s) and two 3.x assignment runs
const CHILD = fileURLToPath(new URL('./lib/capacity-child.js', import.meta.url));

/** Sums `after - before` of every worker's { calls, units } map. */
function diffMaps(before, after, key) {
  const out = {};
  for (const [i, s] of after.entries()) {
    for (const [name, v] of Object.entries(s[key])) {
      const b = before[i][key][name] ?? { calls: 0, units: 0 };
      const o = (out[name] ??= { calls: 0, units: 0 });
      o.calls += v.calls - b.calls;
      o.units += v.units - b.units;
    }
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v.calls > 0).sort(([, a], [, b]) => b.units - a.units));
}

/** Runs one mode at one size: W workers until settled, then the measured window. */
async function measure(servers, dynamodb, leases, mode) {
  const tag = `${leases}-${mode.replace(/\W/g, '')}-${process.pid}`;
  const stream = `bench-k3-${tag}`;
  const app = `bench-k3-app-${tag}`;
  await servers.call('createStream', { name: stream, shards: leases });
  const latest = new Map();
  const children = Array.from({ length: WORKERS }, (_, i) =>
    spawnNode([CHILD, JSON.stringify({ kinesis: servers.kinesis, dynamodb: servers.dynamodb, stream, app, workerId: `w${i + 1}`, steal: Math.ceil(leases / WORKERS), clientVersion: mode, processCpu: true })], {
      onLine: (line) => line.startsWith('{') && latest.set(i, JSON.parse(line)),
    }),
  );
  try {
    const split = () => [...latest.values()].map((s) => s.held).join('/');
    const held = () => [...latest.values()].reduce((sum, s) => sum + s.held, 0);
    let last = '';
    let since = Date.now();
    await waitFor(() => {
      // The counts and the lease writes other than renewals (takes, assignments): both still for STABLE_MS.
      const moved = [...latest.values()].reduce((sum, s) => sum + (s.byKind['UpdateItem lease take/assign/checkpoint']?.calls ?? 0), 0);
      const now = latest.size === WORKERS && held() === leases ? `${split()} ${moved}` : '';
      if (now !== last) [last, since] = [now, Date.now()];
      return now !== '' && Date.now() - since >= STABLE_MS;
    }, `${mode}: ${leases} leases held and unmoved for ${STABLE_MS} ms`, 300000, 250);
    await sleep(1500);
    const before = [...latest.values()].map((s) => structuredClone(s));
    const t0 = performance.now();
    await sleep(WINDOW_MS);
    const after = [...latest.values()].map((s) => structuredClone(s));
    const hours = (performance.now() - t0) / 3600000;
    const total = (k) => after.reduce((sum, s, i) => sum + s[k] - before[i][k], 0);
    const scan = await dynamodb.send(new ScanCommand({ TableName: app, ReturnConsumedCapacity: 'TOTAL' }));
    return {
      mode,
      leases,
      seconds: hours * 3600,
      split: split(),
      heldAtEnd: held(),
      scanUnits: scan.ConsumedCapacity?.CapacityUnits ?? 0,
      ts: { read: total('read') / leases / hours, write: total('write') / leases / hours },
      byOp: diffMaps(before, after, 'byOp'),
      byKind: diffMaps(before, after, 'byKind'),
      hours,
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await servers.call('deleteStream', { name: stream }).catch(() => undefined);
  }
}

const fmtCalls = (map, leases, hours) =>
  Object.entries(map).map(([name, v]) => `    ${name}: ${v.calls} calls, ${v.units.toFixed(1)} CU (${(v.units / leases / hours).toFixed(1)} per lease-hour)`).join('\n');

const servers = await startServerHost();
const results = [];
try {
  console.log(`machine: ${machine()}`);
  const dynamodb = new DynamoDBClient({ region: REGION, credentials: CREDENTIALS, endpoint: servers.dynamodb });
  for (const leases of SIZES) {
    const runs = await Promise.all(MODES.map((mode) => measure(servers, dynamodb, leases, mode)));
    for (const r of runs) {
      r.java = javaKcl2PerLeaseHour(leases, WORKERS, r.scanUnits);
      if (r.heldAtEnd !== leases) console.log(`  LOST LEASES (${r.mode}): ${r.heldAtEnd} of ${leases} held at the end of the window`);
      console.log(`\n${r.mode}: ${leases} leases, ${WORKERS} workers (holding ${r.split}), ${r.seconds.toFixed(0)} s; a full Scan costs ${r.scanUnits} RCU`);
      console.log(`  per lease-hour: read ${r.ts.read.toFixed(1)} RCU, write ${r.ts.write.toFixed(1)} WCU; Java 2.x read ${r.java.read.toFixed(1)}, write ${r.java.write.toFixed(1)}`);
      console.log(`  by call kind:\n${fmtCalls(r.byKind, leases, r.hours)}`);
      results.push(r);
    }
  }
  dynamodb.destroy();
} finally {
  await servers.stop();
}
const sum = (x) => x.read + x.write;
console.log('\n| leases | mode | RCU | WCU | RCU+WCU | vs 2.x mode | vs Java 2.x formula |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  const base = results.find((x) => x.leases === r.leases && x.mode === 'compatible-with-2.x');
  console.log(`| ${r.leases} | ${r.mode} | ${r.ts.read.toFixed(1)} | ${r.ts.write.toFixed(1)} | ${sum(r.ts).toFixed(1)} | ${base ? (sum(r.ts) / sum(base.ts)).toFixed(3) : '-'} | ${(sum(r.ts) / sum(r.java)).toFixed(3)} |`);
}
console.log('\nper lease-hour by call kind (RCU or WCU):');
const kinds = [...new Set(results.flatMap((r) => Object.keys(r.byKind)))].sort();
console.log(`| kind | ${results.map((r) => `${r.leases} ${r.mode}`).join(' | ')} |`);
console.log(`| --- | ${results.map(() => '---').join(' | ')} |`);
for (const k of kinds) console.log(`| ${k} | ${results.map((r) => (r.byKind[k] ? `${(r.byKind[k].units / r.leases / r.hours).toFixed(2)} (${r.byKind[k].calls})` : '-')).join(' | ')} |`);
console.log(`\nkcl3-capacity: ${results.map((r) => `${r.leases} ${r.mode} ${sum(r.ts).toFixed(1)} CU/lease-hour`).join(', ')}`);
