// Issue 16: a KCL 3.x fleet of the real Java KCL 3.5.1 and ts-kcl, both in 3.x mode, one lease table, one
// stream of 8 shards. Either side leads (the Leader lock); the other takes no lease itself and processes
// what the leader assigns it; the leader rebalances by worker utilization with graceful handoffs both ways
// and zero redelivery. The Java worker's CPU utilization is a number the test writes (Kcl3Config
// workerMetrics=file:...), so the test steers the rebalancing; ts-kcl reports its own process's CPU.
import { describe, it, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, waitFor, listShards, makeRecords, type TestEnv, type PutResult } from '../support/env.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { newLease } from '../../src/leases/hierarchical-shard-syncer.ts';
import { TRIM_HORIZON } from '../../src/retrieval/extended-sequence-number.ts';
import type { JavaWorkerBuild } from './java-build.ts';
import { javaOrSkip, skipOrFail } from './java-toolchain.ts';
import { Fleet, createTableWith3xIndex } from './fleet.ts';
import { FAILOVER_MS, HANDOFF_TIMEOUT_MS, JAVA_ASSIGNMENT_LOGGER, JAVA_HANDOFF_LOGGER, JAVA_LEADER_LOGGER, KCL3_JAVA, LEASE_ASSIGNMENT_INTERVAL_MS, LOCK, SAMPLING } from './kcl3-settings.ts';

type Item = Record<string, AttributeValue>;
const SHARDS = 8;
/** Java's utilization as the leader sees it: busy sends leases to ts-kcl (its process's CPU here: a few %), idle draws them back. */
const BUSY = '90';
const IDLE = '0';

/** One sample of every lease item and of the Leader item, taken every 100 ms by the test. */
interface Sample {
  at: number;
  leader: string | undefined;
  leases: Map<string, { owner?: string; checkpointOwner?: string; counter: string; switches: string; checkpoint: string }>;
}

describe('a KCL 3.x fleet of the Java KCL 3.5.1 and ts-kcl', () => {
  let env: TestEnv;
  let build: JavaWorkerBuild | string | undefined;
  let dir: string;
  const fleets: Fleet[] = [];
  before(async () => {
    env = await startEnv('kinesis-local');
    build = await javaOrSkip('3.5.1');
    dir = mkdtempSync(join(tmpdir(), 'ts-kcl-fleet-3x-'));
  });
  after(async () => {
    for (const f of fleets) await f.stopAll();
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The scenario, with Java or ts-kcl started first (and so leading). `steered`: Java's CPU comes from a file
   * and the leases go one way, then back; otherwise Java reports no metric (as off EC2, ECS and EKS), ts-kcl
   * none either (disableWorkerMetrics), and only the first moves are checked.
   */
  async function scenario(t: TestContext, java: JavaWorkerBuild, first: 'java' | 'ts', steered = true): Promise<void> {
    const fleet = new Fleet();
    fleets.push(fleet);
    const stream = uniqueName('fleet3x');
    const app = uniqueName('fleet3x-app');
    const cpuFile = join(dir, `${app}.cpu`);
    await createStream(env.kinesis, stream, SHARDS);
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, app);
    const [leaderId, followerId] = first === 'java' ? ['java-1', 'ts-1'] : ['ts-1', 'java-1'];
    const startJava = (): void =>
      fleet.spawnJava(java, 'java-1', {
        stream,
        app,
        endpoints: env.clientConfig.endpoints,
        cbor: true,
        failoverMs: FAILOVER_MS,
        clientVersion: '3x',
        kcl3: steered ? { ...KCL3_JAVA, workerMetrics: `file:${cpuFile}` } : KCL3_JAVA,
        infoLoggers: [JAVA_LEADER_LOGGER, JAVA_ASSIGNMENT_LOGGER, JAVA_HANDOFF_LOGGER],
      });
    const startTs = (): void =>
      fleet.spawnTs({
        workerId: 'ts-1',
        applicationName: app,
        streamName: stream,
        clientConfig: env.clientConfig,
        initialPosition: 'TRIM_HORIZON',
        logWarnings: true,
        retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200 },
        coordinator: { parentShardPollIntervalMs: 200, initializationBackoffMs: 200 },
        clientVersion: '3.x',
        lease: {
          failoverTimeMs: FAILOVER_MS,
          shardSyncIntervalMs: 2000,
          leaseAssignmentIntervalMs: LEASE_ASSIGNMENT_INTERVAL_MS,
          gracefulLeaseHandoff: { enabled: true, timeoutMs: HANDOFF_TIMEOUT_MS },
          workerUtilizationAwareAssignment: { disableWorkerMetrics: !steered, workerMetricsReporterFreqMs: SAMPLING.reporterFrequencyMillis, inMemoryWorkerMetricsCaptureFrequencyMs: SAMPLING.captureFrequencyMillis },
          leaderLock: { leaseDurationMs: LOCK.leaseDurationMillis, heartbeatPeriodMs: LOCK.heartbeatPeriodMillis },
        },
      });

    // The table as the test sees it, every 100 ms, for the whole scenario.
    const samples: Sample[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const items = await env.dynamodb
          .send(new ScanCommand({ TableName: app, ConsistentRead: true }))
          .then((o) => o.Items ?? [])
          .catch(() => [] as Item[]);
        const leases = new Map(
          items
            .filter((i) => i.leaseKey?.S?.startsWith('shardId-'))
            .map((i) => [
              i.leaseKey!.S!,
              {
                ...(i.leaseOwner?.S ? { owner: i.leaseOwner.S } : {}),
                ...(i.checkpointOwner?.S ? { checkpointOwner: i.checkpointOwner.S } : {}),
                counter: i.leaseCounter?.N ?? '',
                switches: i.ownerSwitchesSinceCheckpoint?.N ?? '',
                checkpoint: i.checkpoint?.S ?? '',
              },
            ]),
        );
        samples.push({ at: Date.now(), leader: items.find((i) => i.leaseKey?.S === 'Leader')?.ownerName?.S, leases });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const owned = (owner: string): string[] => [...(samples.at(-1)?.leases ?? new Map())].filter(([, l]) => l.owner === owner && !l.checkpointOwner).map(([k]) => k);
    const produced: PutResult[] = [];
    let batch = 0;
    const produce = async (n = 32): Promise<void> => void produced.push(...(await putRecords(env.kinesis, stream, makeRecords(n, `${first}-b${++batch}`, 32))));
    // Records all the time while leases move: checkpoints are in flight whenever a handoff lands.
    let producing = false;
    let producer: Promise<void> = Promise.resolve();
    const startProducing = (): void => {
      producing = true;
      producer = (async () => {
        while (producing) {
          await produce(8);
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
    };
    const stopProducing = async (): Promise<void> => {
      producing = false;
      await producer;
    };
    const allDelivered = (what: string): Promise<unknown> => waitFor(() => produced.every((p) => fleet.delivered().has(p.data)), `${what}: every record delivered`, 60000, 100);
    /** Every shard `worker` owns (no handoff pending) has been initialized by it: it processes what it was given. */
    const processesItsLeases = (worker: string): boolean => owned(worker).every((s) => fleet.of(worker).filter((e) => e.shardId === s && (e.t === 'init' || e.t === 'leaseLost' || e.t === 'shutdownRequested')).at(-1)?.t === 'init');
    const timings: Record<string, number> = {};
    const t0 = Date.now();
    const mark = (name: string): void => void (timings[name] = Date.now() - t0);

    try {
      // 1. The first worker alone: it takes the Leader lock and, as leader, assigns every lease to itself.
      writeFileSync(cpuFile, first === 'java' ? BUSY : IDLE);
      if (first === 'java') {
        // Java cannot add the index on dynalite (an on-demand UpdateTable) and, on an empty table, waits 1 to 30 s
        // (random) before its own shard sync: the table and the leases as a ts-kcl worker would have written them.
        await createTableWith3xIndex(env.dynamodb, app);
        for (const s of await listShards(env.kinesis, stream))
          await refresher.createLeaseIfNotExists(newLease({ shardId: s.ShardId!, hashKeyRange: { startingHashKey: s.HashKeyRange!.StartingHashKey!, endingHashKey: s.HashKeyRange!.EndingHashKey! } }, TRIM_HORIZON));
        startJava();
      } else startTs();
      await waitFor(() => samples.at(-1)?.leader === leaderId, `${leaderId} takes the Leader lock`, 60000, 100);
      mark('leader lock');
      await waitFor(() => owned(leaderId).length === SHARDS && processesItsLeases(leaderId), `${leaderId} holds and processes all ${SHARDS} shards`, 60000, 100);
      mark('leader processes all');
      if (first === 'ts') {
        const gsi = (await env.dynamodb.send(new DescribeTableCommand({ TableName: app }))).Table?.GlobalSecondaryIndexes;
        assert.deepEqual(gsi?.map((g) => [g.IndexName, g.KeySchema?.map((k) => k.AttributeName), g.Projection?.ProjectionType]), [['LeaseOwnerToLeaseKeyIndex', ['leaseOwner', 'leaseKey'], 'KEYS_ONLY']], 'ts-kcl creates the table with the 3.x index');
      }
      await produce();
      await allDelivered('leader alone');

      // 2. The follower joins. Java's utilization is steered so that leases flow to the follower: it processes them.
      startProducing();
      if (first === 'java') startTs();
      else startJava();
      await waitFor(() => owned(followerId).length >= 3 && processesItsLeases(followerId), `${followerId} is assigned leases by ${leaderId} and processes them`, steered ? 60000 : 30000, 100);
      mark('follower processes 3');
      await produce();
      await allDelivered('after the first moves');
      const peak = owned(followerId).length;

      // 3. The other way: the follower's leases flow back to the leader.
      if (steered) {
        writeFileSync(cpuFile, first === 'java' ? IDLE : BUSY);
        await waitFor(() => owned(followerId).length <= peak - 2 && processesItsLeases(leaderId), `leases move back from ${followerId} to ${leaderId}`, 60000, 100);
        mark('moved back 2');
      }
      await stopProducing();
      await allDelivered('after the moves back');
    } finally {
      await stopProducing();
      sampling = false;
      await sampler;
      if (process.env.DEBUG_F3X) {
        const { writeFileSync: write } = await import('node:fs');
        write(`${process.env.DEBUG_F3X}-${first}.json`, JSON.stringify({ t0, events: fleet.events.filter((e) => e.t !== 'rec' && e.t !== 'cp' && !(e.t === 'log' && String(e.msg).includes('is the current Leader'))), history: Object.fromEntries([...(samples.at(-1)?.leases.keys() ?? [])].map((k) => [k, shardHistory(samples, k)])) }, null, 1));
      }
      t.diagnostic(`${first} first: timings (ms) ${JSON.stringify(timings)}`);
    }

    // Nothing delivered twice: every move was a graceful handoff (the old owner checkpointed before the new one started).
    const twice = [...fleet.deliveryCounts()].filter(([, n]) => n > 1);
    const deliveries = (d: string): string[] => fleet.events.filter((e) => e.t === 'rec' && e.d?.includes(d)).map((e) => `${e.w} ${e.shardId} +${e.at - t0} ms`);
    assert.deepEqual(twice.map(([d]) => `${d}: ${deliveries(d).join(', ')}`), [], 'no record delivered twice');
    // The Leader lock never changed hands.
    assert.deepEqual([...new Set(samples.map((s) => s.leader).filter(Boolean))], [leaderId], `${leaderId} held the Leader lock throughout`);
    const javaLog = (needle: string): string[] => fleet.of('java-1', 'log').map((e) => String(e.msg)).filter((m) => m.includes(needle));
    if (first === 'ts') {
      assert.deepEqual(javaLog('is new Leader'), [], 'Java never took the lock');
      assert.deepEqual(javaLog('Assigning lease'), [], 'Java, not leading, assigned nothing');
    }

    // Every change of owner: the leader's (for a Java leader, one of its logged assignments), and for a lease
    // someone held, a graceful handoff: the old owner was told (shutdownRequested) before the new one started.
    const moves = ownerChanges(samples);
    t.diagnostic(`${first} first: ${moves.length} owner changes; handoff items seen: ${JSON.stringify(handoffItems(samples).slice(0, 4))}`);
    for (const m of moves) {
      if (first === 'java') assert.ok(javaLog(`Assigning lease : ${m.shard} to worker : ${m.to}`).length > 0, `${m.shard} -> ${m.to} was assigned by the Java leader`);
      if (m.from === undefined) continue;
      const started = fleet.of(m.to, 'init').find((e) => e.shardId === m.shard && e.at >= m.at - 1000);
      if (started === undefined) continue; // under way when the scenario ended (unfinishedHandoffs checks the old ones)
      const told = fleet.of(m.from, 'shutdownRequested').some((e) => e.shardId === m.shard && e.at >= m.at - 1000 && e.at <= started.at);
      assert.ok(told, `${m.shard}: ${m.from} was asked to shut down (graceful handoff) before ${m.to} started it; ${JSON.stringify({ move: m, history: shardHistory(samples, m.shard), events: fleet.events.filter((e) => e.shardId === m.shard && e.t !== 'rec' && e.t !== 'cp') })}`);
    }
    // As Java writes them: initiating a handoff sets leaseOwner := new and checkpointOwner := old and leaves
    // leaseCounter and ownerSwitchesSinceCheckpoint alone; the old owner completes it with an assignment from
    // the new owner to the new owner (no owner switch counted), so the counter of switches never moves here.
    const switched = samples.flatMap((s) => [...s.leases].filter(([, l]) => l.switches !== '0').map(([k, l]) => `${k}: ${l.switches} at ${s.at}`));
    assert.deepEqual(switched.slice(0, 3), [], 'ownerSwitchesSinceCheckpoint stays 0 through graceful handoffs');
    if (steered) assert.ok(moves.some((m) => m.from === leaderId && m.to === followerId) && moves.some((m) => m.from === followerId && m.to === leaderId), 'handoffs happened both ways');
    assert.deepEqual(unfinishedHandoffs(samples, HANDOFF_TIMEOUT_MS / 2), [], 'every handoff finished: its checkpointOwner cleared (rebalancing goes on to the end: the last ones may be under way)');
    assert.deepEqual(fleet.events.filter((e) => e.t === 'crash' || e.t === 'fatal' || (e.t === 'log' && e.level === 'error')).map((e) => `${e.w}: ${String(e.msg)} ${JSON.stringify(e)}`), []);
    await fleet.stopAll();
  }

  it('a Java leader assigns leases to ts-kcl, which processes them; handoffs both ways with zero redelivery', async (t) => {
    if (!skipOrFail(t, build)) return;
    await scenario(t, build, 'java');
  });

  it('a ts-kcl leader assigns leases to Java, which processes them; handoffs both ways with zero redelivery', async (t) => {
    if (!skipOrFail(t, build)) return;
    await scenario(t, build, 'ts');
  });

  // Off EC2, ECS and EKS the Java KCL selects no worker metric and publishes its WorkerMetricStats item with
  // empty maps (the leader then balances it by throughput). Beside it, a ts-kcl worker must do the same
  // (disableWorkerMetrics): a CPU figure is not comparable with Java's throughput one, and a worker without
  // an item is not live to the leader. Both failed before: the Java leader assigned ts-kcl nothing.
  it('a Java leader without worker metrics (off EC2) assigns leases to a ts-kcl worker with disableWorkerMetrics', async (t) => {
    if (!skipOrFail(t, build)) return;
    await scenario(t, build, 'java', false);
  });
});

interface OwnerChange {
  shard: string;
  from: string | undefined;
  to: string;
  at: number;
}

/** Each time a lease's `leaseOwner` took a new value (a handoff shows first as leaseOwner := new, checkpointOwner := old). */
function ownerChanges(samples: Sample[]): OwnerChange[] {
  const out: OwnerChange[] = [];
  const last = new Map<string, string | undefined>();
  for (const s of samples) {
    for (const [shard, l] of s.leases) {
      const before = last.get(shard);
      if (l.owner !== undefined && l.owner !== before) out.push({ shard, from: l.checkpointOwner ?? before, to: l.owner, at: s.at });
      last.set(shard, l.owner);
    }
  }
  return out;
}

/** A lease's item each time it changed (owner, checkpointOwner, counter): for a failure's message. */
function shardHistory(samples: Sample[], shard: string): unknown[] {
  const out: unknown[] = [];
  let last = '';
  for (const s of samples) {
    const l = s.leases.get(shard);
    const v = JSON.stringify({ owner: l?.owner, checkpointOwner: l?.checkpointOwner, switches: l?.switches, cp: l?.checkpoint.slice(-6) });
    if (v !== last) out.push({ at: s.at, ...JSON.parse(v) });
    last = v;
  }
  return out;
}

/** Handoffs (checkpointOwner set) begun more than `graceMs` before the last sample whose checkpointOwner was never seen cleared. */
function unfinishedHandoffs(samples: Sample[], graceMs: number): string[] {
  const end = samples.at(-1)?.at ?? 0;
  const open = new Map<string, number>();
  for (const s of samples)
    for (const [shard, l] of s.leases) {
      if (l.checkpointOwner === undefined) open.delete(shard);
      else if (!open.has(shard)) open.set(shard, s.at);
    }
  return [...open].filter(([, at]) => at < end - graceMs).map(([shard]) => shard);
}

/** The lease items seen in the middle of a handoff (checkpointOwner set), as written. */
function handoffItems(samples: Sample[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const s of samples)
    for (const [shard, l] of s.leases) {
      if (l.checkpointOwner === undefined) continue;
      const key = `${shard}:${l.owner}:${l.checkpointOwner}:${l.counter}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ shard, ...l });
    }
  return out;
}
