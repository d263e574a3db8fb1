// One ts-kcl worker for bench/lease-capacity.bench.js: a Scheduler whose (borrowed) DynamoDB client asks
// for ReturnConsumedCapacity TOTAL on every call and sums what dynalite bills, by operation. Renewals
// run on the main thread so that this client sees them (the renewal thread's writes are the same calls).
// Also split by what each call is for (bench/lib/call-kind.js: renew, GSI discovery, leader lock...).
// Prints a JSON line a second: { held, read, write, byOp, byKind }. Runs until killed.
//   node bench/lib/capacity-child.js '{"kinesis","dynamodb","stream","app","workerId"[,"clientVersion","processCpu","lease","pollMs"]}'
// `processCpu: true` gives the worker `new ProcessCpuWorkerMetric()` (workers sharing one cgroup).
import './quiet-sdk-warning.js';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { callKind } from './call-kind.js';

const opts = JSON.parse(process.argv[2]);
const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../../dist', import.meta.url));
const { Scheduler, silentLogger, ProcessCpuWorkerMetric } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

const READS = new Set(['ScanCommand', 'QueryCommand', 'GetItemCommand', 'BatchGetItemCommand']);
const totals = { read: 0, write: 0, byOp: {}, byKind: {} };
// BENCH_TRACE_KINDS="kind,kind": print those calls (input, and the error if any) on stderr, to see why they happen.
const traced = new Set((process.env.BENCH_TRACE_KINDS ?? '').split(',').filter(Boolean));
const trace = (kind, input, err) =>
  traced.has(kind) && process.stderr.write(`${new Date().toISOString()} ${opts.workerId} ${kind} ${JSON.stringify(input)}${err ? ` -> ${err.name}` : ''}\n`);
const add = (map, name, units) => {
  const entry = (map[name] ??= { calls: 0, units: 0 });
  entry.calls++;
  entry.units += units;
};
const dynamodb = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: opts.dynamodb });
dynamodb.middlewareStack.add(
  (next, context) => async (args) => {
    const counted = context.commandName !== 'CreateTableCommand' && context.commandName !== 'DescribeTableCommand';
    if (counted) args.input.ReturnConsumedCapacity = 'TOTAL';
    const kind = callKind(context.commandName, args.input, opts.workerId);
    let result;
    try {
      result = await next(args);
    } catch (err) {
      trace(kind, args.input, err);
      // Billed by DynamoDB (a failed conditional write costs its WCU) but dynalite returns no figure: counted as calls only.
      add(totals.byKind, `${kind} (failed: ${err.name})`, 0);
      throw err;
    }
    trace(kind, args.input);
    const cc = result.output?.ConsumedCapacity;
    const units = (Array.isArray(cc) ? cc : cc ? [cc] : []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
    add(totals.byOp, context.commandName.replace(/Command$/, ''), units);
    add(totals.byKind, kind, units);
    if (READS.has(context.commandName)) totals.read += units;
    else totals.write += units;
    return result;
  },
  { step: 'initialize', name: 'countConsumedCapacity' },
);

const scheduler = new Scheduler({
  applicationName: opts.app,
  streamName: opts.stream,
  workerId: opts.workerId,
  dynamoDBClient: dynamodb,
  clientConfig: { region: 'us-east-1', credentials, endpoints: { kinesis: opts.kinesis, dynamodb: opts.dynamodb } },
  initialPosition: 'TRIM_HORIZON',
  ...(opts.pollMs ? { retrieval: { mode: 'polling', idleTimeBetweenReadsMs: opts.pollMs } } : {}),
  ...(opts.clientVersion ? { clientVersion: opts.clientVersion } : {}),
  lease: {
    renewInWorkerThread: false,
    maxLeasesToStealAtOneTime: opts.steal ?? 1,
    ...(opts.lease ?? {}),
    ...(opts.processCpu ? { workerUtilizationAwareAssignment: { ...opts.lease?.workerUtilizationAwareAssignment, workerMetrics: [new ProcessCpuWorkerMetric()] } } : {}),
  },
  logger: silentLogger,
  processorFactory: () => ({
    initialize() {},
    processRecords() {},
    leaseLost() {},
    async shardEnded({ checkpointer }) {
      await checkpointer.checkpoint();
    },
    shutdownRequested() {},
  }),
});
scheduler.on('error', () => undefined);
scheduler.run().catch((err) => {
  process.stderr.write(`run() failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
setInterval(() => process.stdout.write(JSON.stringify({ atMs: Date.now(), held: scheduler.heldShardIds().length, ...totals }) + '\n'), 1000);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
