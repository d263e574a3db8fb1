// One ts-kcl worker for bench/kcl3-balance.bench.js: its processors burn CPU per record, much more on
// the hot shards, so that lease counts and CPU load disagree. It publishes ProcessCpuWorkerMetric
// (the bench's workers share one cgroup, whose CPU would be the same for all of them).
// Prints a JSON line a second: { held: [shardId...], cpuMicros, records }. Runs until killed.
//   node bench/lib/balance-child.js '{"kinesis","dynamodb","stream","app","workerId","clientVersion",
//     "hotShards":[...],"hotMsPerRecord","coldMsPerRecord","lease":{...}}'
import './quiet-sdk-warning.js';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const opts = JSON.parse(process.argv[2]);
const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../../dist', import.meta.url));
const { Scheduler, silentLogger, ProcessCpuWorkerMetric } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const hot = new Set(opts.hotShards);
let records = 0;

/** Spins until this process has used `ms` more CPU time: the record's "work" (wall time would shrink under contention). */
function burn(ms) {
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const end = cpu() + ms;
  while (cpu() < end);
}

const scheduler = new Scheduler({
  applicationName: opts.app,
  streamName: opts.stream,
  workerId: opts.workerId,
  clientVersion: opts.clientVersion,
  clientConfig: { region: 'us-east-1', credentials, endpoints: { kinesis: opts.kinesis, dynamodb: opts.dynamodb } },
  initialPosition: 'LATEST',
  lease: {
    ...opts.lease,
    workerUtilizationAwareAssignment: { ...opts.lease?.workerUtilizationAwareAssignment, workerMetrics: [new ProcessCpuWorkerMetric()] },
  },
  logger: silentLogger,
  processorFactory: ({ shardId }) => {
    const msPerRecord = hot.has(shardId) ? opts.hotMsPerRecord : opts.coldMsPerRecord;
    return {
      initialize() {},
      async processRecords({ records: batch, checkpointer }) {
        for (let i = 0; i < batch.length; i++) burn(msPerRecord);
        records += batch.length;
        if (batch.length) await checkpointer.checkpoint();
      },
      leaseLost() {},
      async shardEnded({ checkpointer }) {
        await checkpointer.checkpoint();
      },
      async shutdownRequested({ checkpointer }) {
        await checkpointer.checkpoint();
      },
    };
  },
});
scheduler.on('error', () => undefined);
scheduler.run().catch((err) => {
  process.stderr.write(`run() failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
setInterval(() => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(JSON.stringify({ held: scheduler.heldShardIds(), cpuMicros: user + system, records }) + '\n');
}, 1000);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
