// ts-kcl's CPU per record against a raw SDK GetRecords loop reading the same data.
//   node bench/consumer-cpu.bench.js [--rounds N] [--records N] [--profile]
// kinesalite + dynalite run in their own process (bench/lib/server-host.js), which also preloads the
// stream; each consumer runs in a fresh child process (bench/lib/cpu-child.js) that reports its own
// process.cpuUsage() for the measured window. Raw loop, ts-kcl and ts-kcl without checkpointing run
// alternately, ROUNDS rounds each; medians are reported. --profile also writes CPU profiles of the
// measured window (3 runs of each) to .tmp/profiles for bench/lib/profile-summary.js. Needs
// `npm run build`. Takes ~15 s (~25 s with --profile).
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServerHost, runNode, median, mb, machine } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    records: { type: 'string', default: '40000' },
    shards: { type: 'string', default: '8' },
    bytes: { type: 'string', default: '200' },
    profile: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const RECORDS = Number(args.records);
const SHARDS = Number(args.shards);
const BYTES = Number(args.bytes);
const CHILD = fileURLToPath(new URL('./lib/cpu-child.js', import.meta.url));

const perRecord = (r) => r.cpuUs / r.records;
const fmtUs = (v) => `${v.toFixed(2)} µs/record`;
const ms = (us) => `${(us / 1000).toFixed(0)} ms`;

const servers = await startServerHost();
try {
  const stream = `bench-cpu-${process.pid}`;
  await servers.call('createStream', { name: stream, shards: SHARDS });
  const loaded = await servers.call('preload', { name: stream, records: RECORDS, bytes: BYTES });
  console.log(`machine: ${machine()}`);
  console.log(`data: ${RECORDS} records x ${BYTES} bytes preloaded into a ${SHARDS}-shard kinesalite stream in ${loaded.ms} ms (server process ${servers.pid})`);

  const child = async (mode, extra = {}, nodeFlags = []) => {
    await servers.call('resetCounts');
    const result = await runNode([...nodeFlags, CHILD, mode, JSON.stringify({ kinesis: servers.kinesis, dynamodb: servers.dynamodb, stream, records: RECORDS, shards: SHARDS, ...extra })]);
    result.calls = (await servers.call('counts')).counts;
    return result;
  };

  // The fixed cost of a process, for reference.
  const fixed = { empty: [], 'import-sdk': [], 'import-kcl': [] };
  for (let i = 0; i < 3; i++) for (const mode of Object.keys(fixed)) fixed[mode].push(await child(mode));

  const runs = { raw: [], kcl: [], 'kcl-nocp': [] };
  let app = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of Object.keys(runs)) {
      const extra = mode === 'raw' ? {} : { app: `bench-cpu-app-${process.pid}-${++app}` };
      const r = await child(mode, extra);
      runs[mode].push(r);
      console.log(
        `  round ${round + 1} ${mode.padEnd(8)} cpu ${ms(r.cpuUs).padStart(7)} (${fmtUs(perRecord(r))}), wall ${r.wallMs.toFixed(0)} ms, ` +
          `first record after ${ms(r.firstRecordCpuUs)} cpu / ${r.firstRecordMs.toFixed(0)} ms, process cpu ${ms(r.processCpuUs)}, peak RSS ${mb(r.maxRssBytes)}`,
      );
    }
  }

  const med = (list, f) => median(list.map(f));
  const summary = Object.fromEntries(
    Object.entries(runs).map(([mode, list]) => [
      mode,
      {
        perRecord: med(list, perRecord),
        cpuUs: med(list, (r) => r.cpuUs),
        firstRecordCpuUs: med(list, (r) => r.firstRecordCpuUs),
        allLeasesCpuUs: med(list, (r) => r.allLeasesCpuUs ?? 0),
        afterFirstCpuUs: med(list, (r) => r.cpuUs - r.firstRecordCpuUs),
        wallMs: med(list, (r) => r.wallMs),
        processCpuUs: med(list, (r) => r.processCpuUs),
        maxRss: med(list, (r) => r.maxRssBytes),
        calls: list.at(-1).calls,
      },
    ]),
  );
  const fixedMed = Object.fromEntries(Object.entries(fixed).map(([mode, list]) => [mode, { cpuUs: med(list, (r) => r.processCpuUs), maxRss: med(list, (r) => r.maxRssBytes) }]));

  const raw = summary.raw;
  const kcl = summary.kcl;
  const nocp = summary['kcl-nocp'];
  const callList = (calls) =>
    Object.entries(calls)
      .filter(([target]) => !target.endsWith(' bytes'))
      .sort()
      .map(([target, n]) => `${target.replace(/^(Kinesis_20131202|DynamoDB_20120810)\./, '')} ${n}`)
      .join(', ');
  console.log('');
  console.log(`medians of ${ROUNDS} alternating rounds (CPU = user + system of the consumer process, measured window only):`);
  console.log(`  raw SDK loop:              ${fmtUs(raw.perRecord)}  cpu ${ms(raw.cpuUs)}, wall ${raw.wallMs.toFixed(0)} ms, peak RSS ${mb(raw.maxRss)}, whole process ${ms(raw.processCpuUs)}`);
  console.log(`  ts-kcl Scheduler:          ${fmtUs(kcl.perRecord)}  cpu ${ms(kcl.cpuUs)}, wall ${kcl.wallMs.toFixed(0)} ms, peak RSS ${mb(kcl.maxRss)}, whole process ${ms(kcl.processCpuUs)}  (${(kcl.perRecord / raw.perRecord).toFixed(2)}x raw)`);
  console.log(`  ts-kcl, no checkpointing:  ${fmtUs(nocp.perRecord)}  cpu ${ms(nocp.cpuUs)}, wall ${nocp.wallMs.toFixed(0)} ms, peak RSS ${mb(nocp.maxRss)}  (${(nocp.perRecord / raw.perRecord).toFixed(2)}x raw)`);
  console.log(`  breakdown (CPU until the first record reached the application / after it):`);
  console.log(`    raw:    ${ms(raw.firstRecordCpuUs)} / ${ms(raw.afterFirstCpuUs)}`);
  console.log(`    ts-kcl: ${ms(kcl.firstRecordCpuUs)} / ${ms(kcl.afterFirstCpuUs)}   (${ms(kcl.allLeasesCpuUs)} of it until all ${SHARDS} leases were held: lease table, ListShards, lease creation and taking)`);
  console.log(`    checkpointing ${SHARDS}+ batches: ${ms(kcl.cpuUs - nocp.cpuUs)} (ts-kcl minus ts-kcl without checkpointing)`);
  console.log(`  calls the servers saw in the last round:`);
  console.log(`    raw:    ${callList(raw.calls)}`);
  console.log(`    ts-kcl: ${callList(kcl.calls)}`);
  const gr = 'Kinesis_20131202.GetRecords bytes';
  console.log(`    GetRecords response bytes: raw ${raw.calls[gr]}, ts-kcl ${kcl.calls[gr]}`);
  console.log(
    `  fixed cost of a process (whole-process CPU, peak RSS): empty node ${ms(fixedMed.empty.cpuUs)}, ${mb(fixedMed.empty.maxRss)}; ` +
      `importing the SDK clients ${ms(fixedMed['import-sdk'].cpuUs)}, ${mb(fixedMed['import-sdk'].maxRss)}; importing ts-kcl ${ms(fixedMed['import-kcl'].cpuUs)}, ${mb(fixedMed['import-kcl'].maxRss)}`,
  );

  if (args.profile) {
    const dir = fileURLToPath(new URL('../.tmp/profiles', import.meta.url));
    mkdirSync(dir, { recursive: true });
    for (let round = 1; round <= 3; round++) {
      for (const mode of ['raw', 'kcl', 'kcl-nocp']) {
        await child(mode, { app: `bench-cpu-app-${process.pid}-prof-${mode}-${round}`, profileTo: `${dir}/${mode}-${round}.cpuprofile` });
      }
    }
    console.log(`  CPU profiles of the measured window, 3 runs of each: ${dir}/{raw,kcl,kcl-nocp}-{1,2,3}.cpuprofile`);
    console.log(`  summarise with: node bench/lib/profile-summary.js ${dir}/kcl-*.cpuprofile`);
  }

  const r = kcl.perRecord / raw.perRecord;
  console.log('');
  console.log(`consumer-cpu: ts-kcl ${fmtUs(kcl.perRecord)} vs raw SDK loop ${fmtUs(raw.perRecord)} = ${r.toFixed(2)}x (target <= 1.2x: ${r <= 1.2 ? 'met' : 'NOT met'})`);
} finally {
  await servers.stop();
}
