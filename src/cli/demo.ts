import { KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand, ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startLocalServers, type KinesisServerKind } from '../local/local-servers.ts';
import { Scheduler } from '../coordinator/scheduler.ts';
import { DynamoDBLeaseRefresher } from '../leases/dynamodb/dynamodb-lease-refresher.ts';
import type { ShardRecordProcessorFactory } from '../processor/shard-record-processor.ts';
import { formatLeaseTable } from './leases.ts';
import { parseFlags, type CommandSpec } from './flags.ts';

interface DemoOptions {
  records: number;
  workers: number;
  shards: number;
  /** More than one: multi-stream mode, one application over that many streams. */
  streams: number;
  kinesis: KinesisServerKind;
  out: (line: string) => void;
}

/** Counts what the workers processed: unique ids, duplicates, and per worker / shard. */
class Tally {
  readonly seen = new Set<number>();
  duplicates = 0;
  readonly perWorker = new Map<string, number>();
  readonly lag = new Map<string, number>();

  factory(worker: string): ShardRecordProcessorFactory {
    return ({ shardId, streamName }) => ({
      initialize: () => {},
      processRecords: async ({ records, checkpointer, millisBehindLatest }) => {
        for (const r of records) {
          const id = Number(Buffer.from(r.data).toString('utf8').split(':')[0]);
          if (this.seen.has(id)) this.duplicates++;
          else this.seen.add(id);
        }
        this.perWorker.set(worker, (this.perWorker.get(worker) ?? 0) + records.length);
        this.lag.set(`${streamName}/${shardId}`, millisBehindLatest);
        if (records.length > 0) await checkpointer.checkpoint();
      },
      leaseLost: () => {},
      shardEnded: ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: ({ checkpointer }) => checkpointer.checkpoint(),
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const DEMO: CommandSpec = {
  name: 'demo',
  summary: 'Local servers, a stream, a producer, several workers sharing the shards, a split mid-run, live progress and a checked report.',
  flags: {
    records: { kind: 'int', help: 'records to produce', default: '3000' },
    workers: { kind: 'int', help: 'workers sharing the shards', default: '3' },
    shards: { kind: 'int', help: 'shards at the start (of each stream)', default: '4' },
    streams: { kind: 'int', help: 'streams; more than 1 runs one application over all of them (multi-stream mode)', default: '1' },
    kinesis: { kind: 'string', value: 'kinesis-local|kinesalite', help: 'the local Kinesis server', default: 'kinesis-local' },
  },
};

/** `ts-kcl demo`: local servers, a stream, a producer, several workers, a split, live progress, a checked report. */
export async function runDemo(args: string[]): Promise<number> {
  const flags = parseFlags(DEMO, args);
  if (!flags) return 0;
  return demo({
    records: flags.int('records')!,
    workers: flags.int('workers')!,
    shards: flags.int('shards')!,
    streams: flags.int('streams')!,
    kinesis: flags.oneOf('kinesis', ['kinesis-local', 'kinesalite'] as const)!,
    out: (line) => process.stdout.write(line + '\n'),
  });
}

export async function demo(o: DemoOptions): Promise<number> {
  o.out(`Starting local servers (${o.kinesis} + dynalite)…`);
  const servers = await startLocalServers({ kinesis: o.kinesis });
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const clientConfig = { region: 'us-east-1', credentials, endpoints: { kinesis: servers.kinesis.endpoint, dynamodb: servers.dynamodb.endpoint } };
  const kinesis = new KinesisClient({ region: 'us-east-1', credentials, endpoint: servers.kinesis.endpoint, requestHandler: new NodeHttpHandler() });
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: servers.dynamodb.endpoint });
  const multi = o.streams > 1;
  const streams = multi ? Array.from({ length: o.streams }, (_, i) => `demo-stream-${i + 1}`) : ['demo-stream'];
  const stream = streams[0]!;
  const app = 'demo-app';
  const tally = new Tally();
  const workers: Scheduler[] = [];
  try {
    for (const name of streams) await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: o.shards }));
    for (const name of streams) await waitActive(kinesis, name);
    const what = multi ? `Streams ${streams.join(', ')} with ${o.shards} shards each, one application over all of them (multi-stream mode)` : `Stream ${stream} with ${o.shards} shards`;
    o.out(`${what}; ${o.workers} workers share them; ${o.records} records on the way, with a shard split mid-run.`);
    for (let i = 1; i <= o.workers; i++) {
      const scheduler = new Scheduler({
        applicationName: app,
        ...(multi ? { streams: streams.map((streamName) => ({ streamName })) } : { streamName: stream }),
        workerId: `worker-${i}`,
        processorFactory: tally.factory(`worker-${i}`),
        clientConfig,
        initialPosition: 'TRIM_HORIZON',
        retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200 },
        lease: { failoverTimeMs: 3000, takerIntervalMs: 1000, maxLeasesToStealAtOneTime: 2, shardSyncIntervalMs: 2000 },
        coordinator: { parentShardPollIntervalMs: 300, gracefulShutdownTimeoutMs: 10000 },
      });
      workers.push(scheduler);
      scheduler.run().catch((err: unknown) => o.out(`worker-${i} failed: ${(err as Error).message}`));
    }
    const refresher = new DynamoDBLeaseRefresher(dynamodb, app);
    const progress = startProgress(o, tally, refresher, () => produced);
    let produced = 0;
    const perBatch = 100;
    // Production spread over about 6 s at least, so the workers visibly balance and the split lands mid-run.
    const pace = Math.max(50, Math.floor(6000 / Math.ceil(o.records / perBatch)));
    for (let next = 0; next < o.records; next += perBatch) {
      const n = Math.min(perBatch, o.records - next);
      await kinesis.send(
        new PutRecordsCommand({
          StreamName: streams[(next / perBatch) % streams.length]!,
          Records: Array.from({ length: n }, (_, j) => ({ PartitionKey: `user-${(next + j) % 97}`, Data: Buffer.from(`${next + j}:payload`) })),
        }),
      );
      produced += n;
      if (produced >= o.records / 3 && produced - n < o.records / 3) await split(kinesis, stream, o.out);
      await sleep(pace);
    }
    o.out(`Producer done: ${produced} records put.`);
    const deadline = Date.now() + 90000;
    while (tally.seen.size < produced && Date.now() < deadline) await sleep(200);
    await progress.stop();
    o.out('Graceful shutdown of every worker…');
    const graceful = await Promise.all(workers.map((w) => w.startGracefulShutdown()));
    o.out('\nLease table at the end:');
    o.out(formatLeaseTable(await refresher.listLeases()).trimEnd());
    return report(o, produced, tally, graceful);
  } finally {
    await Promise.allSettled(workers.map((w) => w.shutdown()));
    kinesis.destroy();
    dynamodb.destroy();
    await servers.stop();
  }
}

async function waitActive(kinesis: KinesisClient, stream: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await sleep(50);
  }
  throw new Error(`Stream ${stream} did not become ACTIVE`);
}

/** Splits the first open shard at the middle of its hash key range. */
async function split(kinesis: KinesisClient, stream: string, out: (l: string) => void): Promise<void> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const open = shards.find((s) => !s.SequenceNumberRange?.EndingSequenceNumber)!;
  const start = BigInt(open.HashKeyRange!.StartingHashKey!);
  const end = BigInt(open.HashKeyRange!.EndingHashKey!);
  await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: open.ShardId!, NewStartingHashKey: ((start + end) / 2n).toString() }));
  out(`Split ${open.ShardId} in two.`);
  await waitActive(kinesis, stream);
}

function startProgress(o: DemoOptions, tally: Tally, refresher: DynamoDBLeaseRefresher, produced: () => number): { stop(): Promise<void> } {
  const started = Date.now();
  let running = true;
  const tty = process.stdout.isTTY === true;
  let drawnLines = 0;
  const loop = (async () => {
    while (running) {
      await sleep(1000);
      const leases = await refresher.listLeases().catch(() => []);
      const owners = leases
        .sort((a, b) => a.leaseKey.localeCompare(b.leaseKey))
        .map((l) => `${shortKey(l.leaseKey)}:${l.leaseOwner?.replace('worker-', 'w') ?? '-'}${l.checkpoint.sequenceNumber === 'SHARD_END' ? '(ended)' : ''}`);
      const perWorker = [...tally.perWorker.entries()].sort().map(([w, n]) => `${w}=${n}`).join(' ');
      const maxLag = Math.max(0, ...tally.lag.values());
      const lines = [
        `[${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] produced ${produced()}  processed ${tally.seen.size} unique (+${tally.duplicates} dup)  lag ≤ ${maxLag} ms`,
        `       leases ${owners.join(' ')}`,
        `       per worker ${perWorker || '-'}`,
      ];
      if (tty && drawnLines > 0) process.stdout.write(`\x1b[${drawnLines}A\x1b[0J`);
      for (const line of lines) o.out(line);
      drawnLines = tty ? lines.length : 0;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** `shardId-000000000001` as `000000000001`; a multi-stream key as `<stream>/000000000001`. */
const shortKey = (leaseKey: string): string => {
  const parts = leaseKey.split(':');
  const shard = parts.at(-1)!.replace('shardId-', '');
  return parts.length === 4 ? `${parts[1]}/${shard}` : shard;
};

function report(o: DemoOptions, produced: number, tally: Tally, graceful: boolean[]): number {
  const missing = produced - tally.seen.size;
  o.out('');
  o.out(`Produced: ${produced}`);
  o.out(`Processed: ${tally.seen.size} unique, ${tally.duplicates} redelivered (at-least-once)`);
  o.out(`Per worker: ${[...tally.perWorker.entries()].sort().map(([w, n]) => `${w}=${n}`).join(' ')}`);
  o.out(`Graceful shutdowns completed: ${graceful.filter(Boolean).length} of ${graceful.length}`);
  if (missing === 0) {
    o.out(`OK: every produced record was processed (${produced} of ${produced}).`);
    return 0;
  }
  o.out(`FAILED: ${missing} of ${produced} produced records were never processed.`);
  return 1;
}
