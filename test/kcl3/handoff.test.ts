import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { testLease } from '../support/leases.ts';
import type { Scheduler, SchedulerConfig } from '../../src/index.ts';
import type { WorkerMetric } from '../../src/workermetrics/cpu-worker-metric.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { initiateGracefulLeaseHandoff } from '../../src/assignment/lease-assignment-writes.ts';

// The edges of KCL 3.x's graceful lease handoff, in one process: a processor too slow to shut down,
// handoff switched off, a graceful shutdown (leases and leader lock released), a restart with the same id.
const FAILOVER = 3000;
const HANDOFF_TIMEOUT = 1500;

interface Seen {
  w: string;
  /** Processor calls, and the Scheduler's own `leaseLost` event (`lost`). */
  t: 'init' | 'rec' | 'shutdownRequested' | 'shutdownRequestedDone' | 'leaseLost' | 'lost';
  shardId: string;
  at: number;
  from?: string;
  cp?: string;
}

/** A CPU figure that never changes, so the leader's decisions do not depend on this machine's load. */
const fixedCpu = (value: number): WorkerMetric => ({ shortName: 'C', maxUtilization: 100, capture: () => value });

/** A worker in 3.x mode with short intervals; count-based assignment (a newcomer gets its share at once). */
function worker(env: TestEnv, app: string, stream: string, workerId: string, seen: Seen[], opts: { stuck?: Promise<void>; handoff?: boolean; failoverMs?: number } = {}): Scheduler {
  const lease: NonNullable<SchedulerConfig['lease']> = {
    failoverTimeMs: opts.failoverMs ?? FAILOVER,
    leaseAssignmentIntervalMs: 1000,
    leaderLock: { leaseDurationMs: 10000, heartbeatPeriodMs: 1000 },
    gracefulLeaseHandoff: { enabled: opts.handoff ?? true, timeoutMs: HANDOFF_TIMEOUT },
    workerUtilizationAwareAssignment: {
      leaseAssignmentStrategy: 'LEASE_COUNT_BASED',
      workerMetricsReporterFreqMs: 1000,
      inMemoryWorkerMetricsCaptureFrequencyMs: 200,
      workerMetrics: [fixedCpu(20)],
    },
  };
  const scheduler = testScheduler(env, {
    workerId,
    applicationName: app,
    streamName: stream,
    clientVersion: '3.x',
    lease,
    processorFactory: ({ shardId }) => {
      const note = (t: Seen['t'], extra: Partial<Seen> = {}): void => void seen.push({ w: workerId, t, shardId, at: Date.now(), ...extra });
      let last: string | undefined;
      return {
        initialize: ({ extendedSequenceNumber }) => note('init', { from: extendedSequenceNumber.sequenceNumber }),
        processRecords: async ({ records, checkpointer }) => {
          if (records.length === 0) return;
          last = records[records.length - 1]!.sequenceNumber;
          await checkpointer.checkpoint();
          note('rec', { cp: last });
        },
        leaseLost: () => note('leaseLost'),
        shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
        shutdownRequested: async ({ checkpointer }) => {
          note('shutdownRequested');
          if (opts.stuck) await opts.stuck;
          await checkpointer.checkpoint();
          note('shutdownRequestedDone');
        },
      };
    },
  });
  scheduler.on('leaseLost', (shardId) => void seen.push({ w: workerId, t: 'lost', shardId, at: Date.now() }));
  return scheduler;
}

const first = (seen: readonly Seen[], pred: (s: Seen) => boolean): Seen | undefined => seen.find(pred);

describe('KCL 3.x graceful lease handoff: the edges', () => {
  let env: TestEnv;
  const running: Scheduler[] = [];
  let unstick: () => void = () => {};
  const stuck = new Promise<void>((resolve) => (unstick = resolve));
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => {
    unstick();
    await Promise.all(running.map((s) => s.shutdown()));
    await env?.close();
  });

  /** A 2-shard stream with records, w1 holding both leases, then w2 joining: the leader moves one lease to w2. */
  async function moveOneLease(opts: { stuck?: Promise<void>; handoff?: boolean }): Promise<{ seen: Seen[]; moved: string; app: string; w1: Scheduler; w2: Scheduler }> {
    const stream = uniqueName('ho');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    await putRecords(env.kinesis, stream, makeRecords(40));
    const seen: Seen[] = [];
    const w1 = worker(env, app, stream, 'w1', seen, opts);
    running.push(w1);
    void start(w1);
    await waitFor(() => seen.filter((s) => s.t === 'rec').length >= 2 && w1.heldShardIds().length === 2, 'w1 processing both shards', 20000);
    const w2 = worker(env, app, stream, 'w2', seen, opts);
    running.push(w2);
    void start(w2);
    const init = await waitFor(() => first(seen, (s) => s.w === 'w2' && s.t === 'init'), 'w2 starting a moved lease', 20000);
    return { seen, moved: init.shardId, app, w1, w2 };
  }

  it('a processor that does not return from shutdownRequested within the handoff timeout loses the lease; the new owner starts anyway', async (t) => {
    const { seen, moved } = await moveOneLease({ stuck });
    const asked = first(seen, (s) => s.w === 'w1' && s.shardId === moved && s.t === 'shutdownRequested');
    // The processor is still inside shutdownRequested, so it cannot be told (Java queues leaseLost behind it too): the worker drops the lease.
    const lost = first(seen, (s) => s.w === 'w1' && s.shardId === moved && s.t === 'lost');
    const init = first(seen, (s) => s.w === 'w2' && s.shardId === moved && s.t === 'init')!;
    t.diagnostic(`shutdownRequested +0, leaseLost +${lost && asked ? lost.at - asked.at : '?'} ms, new owner init +${asked ? init.at - asked.at : '?'} ms (timeout ${HANDOFF_TIMEOUT} ms)`);
    assert.ok(asked, 'the old owner was asked to shut down first');
    assert.ok(lost, 'the old owner lost the lease when the timeout passed');
    assert.ok(lost.at - asked.at >= HANDOFF_TIMEOUT - 50, `not before the timeout (after ${lost.at - asked.at} ms)`);
    assert.ok(init.at - asked.at < HANDOFF_TIMEOUT + FAILOVER, `the new owner started without waiting for the lease to expire (after ${init.at - asked.at} ms)`);
    assert.equal(first(seen, (s) => s.w === 'w1' && s.shardId === moved && s.t === 'shutdownRequestedDone'), undefined);
  });

  it('with gracefulLeaseHandoff.enabled false a move is a plain assignment: leaseLost, no shutdownRequested', async () => {
    const { seen, moved } = await moveOneLease({ handoff: false });
    await waitFor(() => first(seen, (s) => s.w === 'w1' && s.shardId === moved && s.t === 'leaseLost'), 'w1 losing the moved lease', 10000);
    assert.equal(first(seen, (s) => s.w === 'w1' && s.t === 'shutdownRequested'), undefined, 'no shutdownRequested on a plain assignment');
  });

  it('a graceful shutdown in 3.x mode releases leases and the leader lock: the other worker leads and takes over at once', async (t) => {
    const { seen, app, w1, w2 } = await moveOneLease({});
    await waitFor(() => w1.heldShardIds().length === 1 && w2.heldShardIds().length === 1, 'one lease each', 20000);
    const leaderOf = async (): Promise<string | undefined> =>
      ((await env.dynamodb.send(new ScanCommand({ TableName: app, ConsistentRead: true }))).Items ?? []).find((i) => i.leaseKey?.S === 'Leader')?.ownerName?.S;
    const leader = await waitFor(leaderOf, 'a leader', 10000);
    const [goes, stays, staysId] = leader === 'w1' ? [w1, w2, 'w2'] : [w2, w1, 'w1'];
    const stopAt = Date.now();
    assert.equal(await goes.startGracefulShutdown(), true);
    await waitFor(async () => (await leaderOf()) === staysId, 'the other worker leading', 9000, 100);
    const ledMs = Date.now() - stopAt;
    await waitFor(() => stays.heldShardIds().length === 2, 'the other worker holding both leases', 9000);
    const tookMs = Date.now() - stopAt;
    t.diagnostic(`${leader} stopped gracefully; ${staysId} leads after ${ledMs} ms and holds both leases after ${tookMs} ms (lock lease 10000 ms)`);
    assert.ok(ledMs < 5000, `led before the lock's lease duration (${ledMs} ms)`);
    // As in Java, a processor told shutdownRequested gets leaseLost after it; what matters is that it checkpointed first.
    const leaving = seen.filter((s) => s.w === leader && s.at >= stopAt && s.t !== 'rec').map((s) => s.t);
    assert.ok(leaving.indexOf('shutdownRequestedDone') >= 0 && leaving.indexOf('shutdownRequestedDone') < Math.max(0, leaving.indexOf('leaseLost')), `shutdownRequested finished before leaseLost: ${leaving.join(',')}`);
  });

  it('a worker restarted with the same id resumes its leases from their checkpoints', async (t) => {
    const stream = uniqueName('ho');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    await putRecords(env.kinesis, stream, makeRecords(40, 'a'));
    const seen: Seen[] = [];
    // A long failover: resuming must not wait for the leases to expire and be reassigned.
    const failoverMs = 10000;
    const before = worker(env, app, stream, 'w1', seen, { failoverMs });
    void start(before);
    await waitFor(() => new Set(seen.filter((s) => s.t === 'rec').map((s) => s.shardId)).size === 2, 'both shards processed', 20000);
    await before.shutdown(); // a crash-like stop: the leases stay w1's in the table
    const lastCp = new Map(seen.filter((s) => s.t === 'rec').map((s) => [s.shardId, s.cp]));
    const restartAt = Date.now();
    const again = worker(env, app, stream, 'w1', seen, { failoverMs });
    running.push(again);
    void start(again);
    await putRecords(env.kinesis, stream, makeRecords(20, 'b'));
    await waitFor(() => seen.filter((s) => s.t === 'init' && s.at >= restartAt).length === 2, 'both leases resumed', 20000);
    const resumedMs = Math.max(...seen.filter((s) => s.t === 'init' && s.at >= restartAt).map((s) => s.at)) - restartAt;
    t.diagnostic(`resumed both leases ${resumedMs} ms after the restart (failover ${failoverMs} ms)`);
    assert.ok(resumedMs < failoverMs / 2, `resumed without waiting for expiry (${resumedMs} ms)`);
    for (const s of seen.filter((x) => x.t === 'init' && x.at >= restartAt)) assert.equal(s.from, lastCp.get(s.shardId), `${s.shardId} resumes at its checkpoint`);
  });

  it('a checkpoint that races the leader\'s handoff write still lands (Java conditions updateLease on the counter only)', async () => {
    const table = uniqueName('race');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, table);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(10000);
    await refresher.createLeaseIfNotExists(testLease('shardId-000000000000', 'w1'));
    const held = (await refresher.getLease('shardId-000000000000'))!;
    // The leader moves the lease: leaseOwner := w2, checkpointOwner := w1, counter unchanged.
    assert.ok(await initiateGracefulLeaseHandoff({ client: env.dynamodb, tableName: table, requestTimeoutMs: 5000 }, held, 'w2'));
    // w1's processor checkpoints before w1's next renewal has seen the handoff.
    const ok = await refresher.updateLease({ ...held, checkpoint: { sequenceNumber: '12345', subSequenceNumber: 0 } });
    assert.equal(ok, true, 'the old owner may still checkpoint during the handoff');
  });
});
