// Lease-table capacity per lease-hour: ts-kcl workers against the Java KCL 2.x formula at the same
// settings, at 10, 100 and 1,000 leases.
//   node bench/lease-capacity.bench.js [--leases 10,100,1000] [--workers 2] [--seconds 60] [--poll 1000]
// --poll: the workers' idleTimeBetweenReadsMs (GetRecords on the empty shards; no lease-table cost,
// but 1,000 shards polled once a second is a core of kinesalite, which runs in its own process).
// Each size: a kinesalite stream with that many shards (no records), W ts-kcl worker processes at the
// default lease settings (failover 10 s; steals of up to half the leases at once, so the fleet
// balances in a few rounds) on one dynalite lease table. Once every lease is held and balanced, the
// capacity dynalite bills (ReturnConsumedCapacity TOTAL, summed by each worker's DynamoDB client) is
// measured over --seconds. Java 2.x at its defaults, for the same table: renewals every 3308 ms per
// lease (1 WCU each), a full Scan per worker every taker round (20050 ms), one per worker per leader
// election (5 min) and one on the leader per recovery audit (2 min); a full Scan costs what a Scan of
// this table costs in dynalite (measured here). Needs `npm run build`.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { javaKcl2PerLeaseHour } from './lib/java-kcl2-capacity.js';
import { startServerHost, spawnNode, waitFor, sleep, machine, CREDENTIALS, REGION } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    leases: { type: 'string', default: '10,100,1000' },
    workers: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '60' },
    poll: { type: 'string', default: '1000' },
  },
});
const SIZES = args.leases.split(',').map(Number);
const WORKERS = Number(args.workers);
const WINDOW_MS = Number(args.seconds) * 1000;
const CHILD = fileURLToPath(new URL('./lib/capacity-child.js', import.meta.url));

const javaPerLeaseHour = javaKcl2PerLeaseHour;

const servers = await startServerHost({ split: true });
const rows = [];
try {
  console.log(`machine: ${machine()}`);
  const dynamodb = new DynamoDBClient({ region: REGION, credentials: CREDENTIALS, endpoint: servers.dynamodb });
  for (const leases of SIZES) {
    const stream = `bench-cap-${leases}-${process.pid}`;
    const app = `bench-cap-app-${leases}-${process.pid}`;
    await servers.call('createStream', { name: stream, shards: leases });
    const latest = new Map();
    const children = Array.from({ length: WORKERS }, (_, i) =>
      // Stealing many at once only so the fleet balances within a few taker rounds: the steady state is measured.
      spawnNode([CHILD, JSON.stringify({ kinesis: servers.kinesis, dynamodb: servers.dynamodb, stream, app, workerId: `w${i + 1}`, steal: Math.ceil(leases / WORKERS), pollMs: Number(args.poll) })], {
        onLine: (line) => line.startsWith('{') && latest.set(i, JSON.parse(line)),
      }),
    );
    try {
      const held = () => [...latest.values()].reduce((sum, s) => sum + s.held, 0);
      const balanced = () => [...latest.values()].every((s) => Math.abs(s.held - leases / WORKERS) <= 1);
      const progress = setInterval(() => console.log(`  waiting: held ${[...latest.values()].map((s) => s.held).join('/')}`), 15000);
      await waitFor(() => latest.size === WORKERS && held() === leases && balanced(), `${leases} leases held and balanced`, 300000, 250).finally(() => clearInterval(progress));
      await sleep(1500); // the next report of each worker
      const before = [...latest.values()].map((s) => structuredClone(s));
      await sleep(WINDOW_MS);
      const after = [...latest.values()];
      // Each worker's own report times bound its window (reports come once a second: the wall clock here
      // would be off by up to 2 s of 60, 3%, more than the differences measured).
      const hoursOf = (i) => (after[i].atMs - before[i].atMs) / 3600000;
      const hours = after.reduce((sum, _, i) => sum + hoursOf(i), 0) / after.length;
      const perHour = (k) => after.reduce((sum, s, i) => sum + (s[k] - before[i][k]) / hoursOf(i), 0);
      const ops = {};
      for (const [i, s] of after.entries()) {
        for (const [op, v] of Object.entries(s.byOp)) {
          const b = before[i].byOp[op] ?? { calls: 0, units: 0 };
          const o = (ops[op] ??= { calls: 0, units: 0 });
          o.calls += v.calls - b.calls;
          o.units += v.units - b.units;
        }
      }
      const kinds = {};
      for (const [i, s] of after.entries()) {
        for (const [kind, v] of Object.entries(s.byKind)) {
          const b = before[i].byKind[kind] ?? { calls: 0, units: 0 };
          const k = (kinds[kind] ??= { calls: 0, units: 0 });
          k.calls += v.calls - b.calls;
          k.units += v.units - b.units;
        }
      }
      const scan = await dynamodb.send(new ScanCommand({ TableName: app, ReturnConsumedCapacity: 'TOTAL' }));
      const scanUnits = scan.ConsumedCapacity?.CapacityUnits ?? 0;
      const ts = { read: perHour('read') / leases, write: perHour('write') / leases };
      const java = javaPerLeaseHour(leases, WORKERS, scanUnits);
      const split = [...latest.values()].map((s) => s.held).join('/');
      if (held() !== leases) console.log(`  LOST LEASES: ${held()} of ${leases} held at the end of the window`);
      console.log(`\n${leases} leases, ${WORKERS} workers (holding ${split}), ${(hours * 3600).toFixed(0)} s; a full Scan of the table costs ${scanUnits} RCU`);
      console.log(`  calls in the window: ${Object.entries(ops).filter(([, v]) => v.calls > 0).map(([op, v]) => `${op} ${v.calls} (${v.units.toFixed(1)} CU)`).join(', ')}`);
      console.log(`  by purpose: ${Object.entries(kinds).filter(([, v]) => v.calls > 0).map(([kind, v]) => `${kind} ${v.calls} (${v.units.toFixed(1)} CU)`).join(', ')}`);
      console.log(`  per lease-hour: ts-kcl read ${ts.read.toFixed(1)} RCU, write ${ts.write.toFixed(1)} WCU; Java 2.x read ${java.read.toFixed(1)}, write ${java.write.toFixed(1)}`);
      rows.push({ leases, ts, java });
    } finally {
      for (const child of children) child.kill('SIGKILL');
      await servers.call('deleteStream', { name: stream });
    }
  }
  dynamodb.destroy();
} finally {
  await servers.stop();
}
console.log('\n| leases | ts-kcl RCU | ts-kcl WCU | Java 2.x RCU | Java 2.x WCU | ts/Java (RCU+WCU) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.leases} | ${r.ts.read.toFixed(1)} | ${r.ts.write.toFixed(1)} | ${r.java.read.toFixed(1)} | ${r.java.write.toFixed(1)} | ${((r.ts.read + r.ts.write) / (r.java.read + r.java.write)).toFixed(2)} |`);
}
console.log(`\nlease-capacity: ts/Java per lease-hour ${rows.map((r) => `${r.leases} leases ${((r.ts.read + r.ts.write) / (r.java.read + r.java.write)).toFixed(2)}x`).join(', ')}`);
