import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startEnv, uniqueName, createStream, waitFor, credentials, region, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import type { Scheduler } from '../../src/index.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { ThreadLeaseRenewer } from '../../src/leases/thread-lease-renewer.ts';
import { DynamoDBCheckpointer } from '../../src/checkpoint/dynamodb-checkpointer.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { silentLogger, type Logger } from '../../src/common/logger.ts';
import type { RenewalThreadSettings } from '../../src/leases/renewal-thread-messages.ts';
import { ShutdownException, type ShardRecordProcessorFactory } from '../../src/index.ts';
import { testLease } from '../support/leases.ts';

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}
const capture = (lines: LogLine[]): Logger => {
  const at =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void =>
      void lines.push(typeof objOrMsg === 'string' ? { level, obj: {}, msg: objOrMsg } : { level, obj: objOrMsg as Record<string, unknown>, msg: msg ?? '' });
  return { debug: () => {}, info: at('info'), warn: at('warn'), error: at('error') };
};

const idle: ShardRecordProcessorFactory = () => ({ initialize: () => {}, processRecords: () => {}, leaseLost: () => {}, shardEnded: () => {}, shutdownRequested: () => {} });

/** Synchronous CPU work: nothing else runs on this thread meanwhile. */
const blockFor = (ms: number): void => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

interface ChildEvent {
  t: string;
  at: number;
  shardId?: string;
  msg?: string;
  [key: string]: unknown;
}

/** A test support script in its own process, reporting JSON lines. */
function spawnChild(script: string, config: object): { child: ChildProcess; events: ChildEvent[]; exited: Promise<number | null>; send(line: string): void } {
  const file = fileURLToPath(new URL(`../support/${script}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', file, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const events: ChildEvent[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      events.push(JSON.parse(line));
    } catch {
      /* not ours */
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, events, exited, send: (line) => void child.stdin.write(line + '\n') };
}

/** dynalite in a worker thread of this process: it keeps answering while this thread is blocked. */
async function startDynaliteInThread(): Promise<{ endpoint: string; stop(): Promise<number> }> {
  const dynalite = createRequire(import.meta.url).resolve('dynalite');
  const code = `const { parentPort } = require('node:worker_threads');
    const server = require(${JSON.stringify(dynalite)})({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`;
  const worker = new Worker(code, { eval: true });
  const [port] = (await once(worker, 'message')) as [number];
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => worker.terminate() };
}

describe('renewals in a worker thread (kinesalite + dynalite)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  const threadSettings = (tableName: string, failoverTimeMs: number, renewerIntervalMs: number): RenewalThreadSettings => ({
    workerId: 'worker-a',
    tableName,
    billingMode: 'PAY_PER_REQUEST',
    requestTimeoutMs: 60000,
    failoverTimeMs,
    renewerIntervalMs,
    metricsLevel: 'NONE',
    client: { region, credentials, endpoint: env.servers.dynamodb.endpoint },
  });

  const newTable = async (): Promise<DynamoDBLeaseRefresher> => {
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, uniqueName('leases'));
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(10000);
    return refresher;
  };

  for (const credentialsProvider of [false, true]) {
    it(`a processor that blocks the event loop past the failover time costs the worker no lease (${credentialsProvider ? 'a credentials provider function' : 'static keys'})`, async () => {
      const stream = uniqueName('blocked');
      const app = uniqueName('app');
      await createStream(env.kinesis, stream, 8);
      // Worker a in its own process (the local servers live in this one and must keep answering).
      const a = spawnChild('blocking-worker-process.ts', {
        workerId: 'a',
        applicationName: app,
        streamName: stream,
        clientConfig: env.clientConfig,
        initialPosition: 'TRIM_HORIZON',
        retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200 },
        lease: { failoverTimeMs: 3000, takerIntervalMs: 500, maxLeasesForWorker: 4 },
        blockMs: 4000,
        credentialsProvider,
      });
      let b: Scheduler | undefined;
      let running: Promise<void> | undefined;
      try {
        const aHolds = (): Set<string> => {
          const held = new Set<string>();
          for (const e of a.events) if (e.t === 'acquired') held.add(e.shardId!);
          else if (e.t === 'lost') held.delete(e.shardId!);
          return held;
        };
        await waitFor(() => aHolds().size === 4, 'worker a holding 4 of the 8 shards', 30000);
        // Worker b takes the other 4: at its target, it takes nothing more unless a's leases expire.
        const bAcquired: string[] = [];
        b = testScheduler(env, { applicationName: app, streamName: stream, workerId: 'b', lease: { failoverTimeMs: 3000 }, processorFactory: idle });
        b.on('leaseAcquired', (s) => bAcquired.push(s));
        running = start(b);
        await waitFor(() => b!.heldShardIds().length === 4, 'worker b holding the other 4');
        const mine = aHolds();

        a.send('block');
        const ended = await waitFor(() => a.events.find((e) => e.t === 'blockEnd'), 'the blocking batch to end', 30000);
        const started = a.events.find((e) => e.t === 'blockStart')!;
        assert.ok(ended.at - started.at >= 4000);
        // Two more renewals of each of a's leases after the block; b's taker (every 500 ms) had every chance.
        const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
        const counters = new Map((await refresher.listLeases()).map((l) => [l.leaseKey, l.leaseCounter]));
        await waitFor(
          async () => (await refresher.listLeases()).filter((l) => mine.has(l.leaseKey)).every((l) => l.leaseOwner === 'a' && l.leaseCounter >= counters.get(l.leaseKey)! + 2),
          "a's leases renewed twice more, still owned by a",
          10000,
        );
        assert.deepEqual(a.events.filter((e) => e.t === 'lost' || e.t === 'leaseLost'), [], 'worker a lost no lease');
        assert.equal(bAcquired.length, 4, `b took nothing of a's while a was blocked (b acquired ${bAcquired.join(', ')})`);
        assert.ok(bAcquired.every((s) => !mine.has(s)));

        // The block shows as event-loop lag: a metric and a warning that says what to do.
        await waitFor(() => a.events.some((e) => e.t === 'metric' && e.operation === 'Worker' && (e.max as number) >= 3500), 'an EventLoopLag metric of the block').catch((err: unknown) => {
          throw new Error(`${String(err)}; metrics seen: ${JSON.stringify(a.events.filter((e) => e.t === 'metric').slice(-12))}; block: ${JSON.stringify(a.events.filter((e) => e.t.startsWith("block")))}`);
        });
        const warning = a.events.find((e) => e.t === 'warn' && /blocking the event loop/.test(String(e.msg)));
        assert.ok(warning, 'a WARN about the blocked event loop');
        assert.ok((warning.eventLoopLagMs as number) >= 3500);
      } finally {
        a.child.kill('SIGKILL');
        await b?.shutdown();
        await running;
      }
    });
  }

  it('shutdown() leaves no renewal thread behind: the process exits by itself', async () => {
    const stream = uniqueName('exit');
    await createStream(env.kinesis, stream, 1);
    const config = {
      applicationName: uniqueName('app'),
      streamName: stream,
      clientConfig: env.clientConfig,
      initialPosition: 'TRIM_HORIZON',
      lease: { failoverTimeMs: 3000, takerIntervalMs: 500 },
    };
    const { child, events, exited } = spawnChild('shutdown-exit-process.ts', config);
    const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30000).unref());
    const code = await Promise.race([exited, timedOut]);
    if (code === 'timeout') child.kill('SIGKILL');
    assert.ok(events.some((e) => e.t === 'log' && e.msg === 'Renewing leases in a worker thread'), 'the renewal thread ran');
    assert.ok(events.some((e) => e.t === 'shutdown'), 'shutdown() resolved');
    assert.equal(code, 0, 'the process exited by itself after shutdown()');
  });

  it('checkpoints go through the thread while it renews: serialized, conditional on its counter', async () => {
    const refresher = await newTable();
    const l = testLease('shard-1');
    await refresher.createLeaseIfNotExists(l);
    assert.equal(await refresher.takeLease(l, 'worker-a'), true);
    const lost: string[] = [];
    const renewer = new ThreadLeaseRenewer(threadSettings(refresher.tableName, 10000, 100), refresher, silentLogger, new Metrics('NONE', [], silentLogger), (key) => lost.push(key));
    try {
      const held = renewer.add(l);
      const checkpointer = new DynamoDBCheckpointer(renewer);
      const rounds = Array.from({ length: 5 }, () => renewer.renewLeases());
      for (let i = 1; i <= 5; i++) await checkpointer.setCheckpoint('shard-1', { sequenceNumber: String(i), subSequenceNumber: 0 }, held.concurrencyToken);
      await Promise.all(rounds);
      const stored = (await refresher.getLease('shard-1'))!;
      assert.equal(stored.checkpoint.sequenceNumber, '5');
      assert.ok(stored.leaseCounter >= 1 + 5 + 5, `every renewal and checkpoint bumped the counter once (counter ${stored.leaseCounter})`);
      assert.equal(renewer.getCurrentlyHeldLease('shard-1')?.lease.checkpoint.sequenceNumber, '5');

      // Another worker takes it (between two renewals, every 100 ms): the next checkpoint fails its condition and writes nothing.
      await waitFor(async () => refresher.takeLease((await refresher.getLease('shard-1'))!, 'worker-b'), 'worker b taking the lease', 5000, 10);
      await assert.rejects(checkpointer.setCheckpoint('shard-1', { sequenceNumber: '6', subSequenceNumber: 0 }, held.concurrencyToken), ShutdownException);
      const after = (await refresher.getLease('shard-1'))!;
      assert.equal(after.checkpoint.sequenceNumber, '5');
      assert.equal(after.leaseOwner, 'worker-b');
      assert.deepEqual(lost, ['shard-1']);
      assert.equal(renewer.getCurrentlyHeldLease('shard-1'), undefined);
    } finally {
      await renewer.close();
    }
  });

  it('the main thread sees renewals the thread made while the main thread was blocked', async () => {
    const dynamo = await startDynaliteInThread();
    const client = new DynamoDBClient({ region, credentials, endpoint: dynamo.endpoint });
    const refresher = new DynamoDBLeaseRefresher(client, uniqueName('leases'));
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(10000);
    const l = testLease('shard-1');
    await refresher.createLeaseIfNotExists(l);
    await refresher.takeLease(l, 'worker-a');
    const lost: string[] = [];
    const settings = { ...threadSettings(refresher.tableName, 1000, 300), client: { region, credentials, endpoint: dynamo.endpoint } };
    const renewer = new ThreadLeaseRenewer(settings, refresher, silentLogger, new Metrics('NONE', [], silentLogger), (key) => lost.push(key));
    try {
      renewer.add(l);
      await renewer.renewLeases(); // the thread is up and renewing
      const counter = (await refresher.getLease('shard-1'))!.leaseCounter;
      blockFor(2500); // two and a half failover times, no message processed here
      assert.ok(renewer.getCurrentlyHeldLease('shard-1'), 'still held: the renewal time is shared memory, not a message');
      assert.deepEqual(lost, []);
      assert.ok((await refresher.getLease('shard-1'))!.leaseCounter >= counter + 5, 'renewed all along by the thread');
    } finally {
      await renewer.close();
      client.destroy();
      await dynamo.stop();
    }
  });

  it('with a borrowed DynamoDB client, renews on the main thread and says why', async () => {
    const stream = uniqueName('borrowed');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    const logs: LogLine[] = [];
    const lost: string[] = [];
    const w = testScheduler(env, { applicationName: app, streamName: stream, dynamoDBClient: env.dynamodb, logger: capture(logs), processorFactory: idle });
    w.on('leaseLost', (s) => lost.push(s));
    const running = start(w);
    await waitFor(() => w.heldShardIds().length === 2, 'both leases held');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    const before = new Map((await refresher.listLeases()).map((l) => [l.leaseKey, l.leaseCounter]));
    // Three renewals each, across more than two failover times.
    await waitFor(
      async () => (await refresher.listLeases()).every((l) => l.leaseOwner === w.workerId && l.leaseCounter >= before.get(l.leaseKey)! + 3),
      'renewals on the main thread',
      15000,
    );
    assert.deepEqual(lost, []);
    const why = logs.find((l) => l.level === 'info' && /Renewing leases on the main thread/.test(l.msg));
    assert.match(String(why?.obj.reason), /dynamoDBClient/);
    assert.ok(!logs.some((l) => l.msg === 'Renewing leases in a worker thread'));
    await w.shutdown();
    await running;
  });
});
