// The fault soak: 4 worker processes on an 8-shard kinesis-local stream under continuous tagged
// production, each behind its own fault proxies for Kinesis and DynamoDB, with a seeded fault plan;
// then the faults stop, the stream drains, the workers stop on SIGTERM and the pure checks judge.
import { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { writeFile } from 'node:fs/promises';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startKinesisLocal, startDynalite, type LocalServer } from '../../src/local/local-servers.ts';
import { Cluster } from '../support/cluster.ts';
import { FaultProxy, type ChaosRates } from '../support/fault-proxy.ts';
import { credentials, region, createStream, waitFor } from '../support/env.ts';
import { checkSoak, type LeaseRow, type PlannedFault, type ShardInfo, type SoakVerdict } from './checks.ts';
import { planFaults, type PlannedAction } from './schedule.ts';
import { startProducer } from './producer.ts';
import { seeded } from './random.ts';
import { FaultDriver, sleep } from './fault-driver.ts';
import { isLeaseItem } from '../../src/leases/dynamodb/lease-serializer.ts';

export interface SoakOptions {
  seed: number;
  /** How long faults are injected; start-up, drain and stop come on top. */
  faultPhaseMs: number;
  /** The most the drain may take before the checks run anyway. */
  drainMs: number;
  log?: (line: string) => void;
  /** Aborting (Ctrl-C) ends the run early; every child is still stopped. */
  signal?: AbortSignal;
  /** Where to write the raw evidence (events, puts, faults, shards, table) as JSON, for a red run. */
  evidenceFile?: string;
  /** The workers' lease protocol: 2.x (default) or KCL 3.x (leader assignment, graceful handoffs). */
  clientVersion?: '3.x' | 'compatible-with-2.x';
}


export interface SoakResult extends SoakVerdict {
  faultsByKind: Record<string, number>;
  plan: PlannedAction[];
  drained: boolean;
  wallMs: number;
}

const WORKERS = ['w1', 'w2', 'w3', 'w4'] as const;
const SHARDS = 8;
export const FAILOVER_MS = 3000;
export const TAKER_MS = 1000;
const SHARD_SYNC_MS = 2000;

/** KCL 3.x at soak speed: the leader assigns every failover time, metrics every second, a dead leader replaced in 2 failover times. */
const KCL3_SETTINGS = {
  clientVersion: '3.x' as const,
  processCpuMetric: true,
  lease: {
    leaseAssignmentIntervalMs: FAILOVER_MS,
    leaderLock: { leaseDurationMs: 2 * FAILOVER_MS, heartbeatPeriodMs: FAILOVER_MS / 3 },
    gracefulLeaseHandoff: { timeoutMs: 5000 },
    workerUtilizationAwareAssignment: { workerMetricsReporterFreqMs: 1000, inMemoryWorkerMetricsCaptureFrequencyMs: 250 },
  },
};
/** Request deadlines below the defaults (30 s / 60 s) so one hung call costs seconds, not the whole run. */
export const REQUEST_TIMEOUT_MS = 3000;
/** A recovering worker may need a lease expiry, a taker round and, for new shards, a shard sync. */
const EXCUSE_TAIL_MS = FAILOVER_MS + 2 * TAKER_MS + SHARD_SYNC_MS;
/**
 * Calm after the chaos stops before the workers are stopped: a fault drawn just before it stopped can still
 * cost a lease after every record was seen (a hung renewal runs to its deadline, the lease expires and is
 * taken again, its last records redelivered and checkpointed by the new holder). Without this wait the final
 * table could miss that checkpoint through no fault of the library.
 */
const SETTLE_MS = REQUEST_TIMEOUT_MS + FAILOVER_MS + TAKER_MS + 1000;
/** Two cores shared with other work: timers, stdout and child start-up run late by this much. */
const SLACK_MS = 2000;

/** Low enough that work progresses: about one call in 25 meets a random fault. */
const RATES: ChaosRates = { throttle: 0.015, error500: 0.004, error503: 0.004, resetBefore: 0.004, resetAfter: 0.006, resetMid: 0.003, hang: 0.002, latency: 0.01, latencyMs: [300, 1500] };


/** Rejects as soon as `signal` aborts, so an interrupted run goes straight to its cleanup. */
function unlessAborted<T>(signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => (onAbort = () => reject(new Error('soak interrupted'))));
  signal.addEventListener('abort', onAbort, { once: true });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** The stream's shard graph and the lease table, read straight from the servers once the workers are gone. */
async function readFinalState(kinesis: KinesisClient, dynamodb: DynamoDBClient, stream: string, table: string): Promise<{ shards: ShardInfo[]; table: LeaseRow[] }> {
  const listed = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  const scan = await dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return {
    shards: (listed.Shards ?? []).map((s) => ({
      shardId: s.ShardId!,
      parents: [s.ParentShardId, s.AdjacentParentShardId].filter((x): x is string => x !== undefined),
      closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined,
    })),
    table: (scan.Items ?? []).filter(isLeaseItem).map((item) => ({ leaseKey: item['leaseKey']?.S ?? '?', checkpoint: item['checkpoint']?.S ?? '?', owner: item['leaseOwner']?.S })),
  };
}

/** Random faults by kind over every proxy, and the planned ones as `planned:<kind>`. */
function countFaults(proxies: { kinesis: FaultProxy; dynamodb: FaultProxy }[], planned: PlannedFault[]): Record<string, number> {
  const byKind: Record<string, number> = {};
  const add = (kind: string, n: number): void => void (byKind[kind] = (byKind[kind] ?? 0) + n);
  for (const p of proxies) for (const proxy of [p.kinesis, p.dynamodb]) for (const [kind, n] of Object.entries(proxy.faultsByKind())) add(kind, n);
  for (const f of planned) add(`planned:${f.kind}`, 1);
  return byKind;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const guard = <T>(work: Promise<T>): Promise<T> => unlessAborted(options.signal, work);
  const started = Date.now();
  const random = seeded(options.seed);
  const cluster = new Cluster();
  const killOnExit = (): void => cluster.killAllNow();
  process.once('exit', killOnExit);
  const proxies: { kinesis: FaultProxy; dynamodb: FaultProxy }[] = [];
  const servers: LocalServer[] = [];
  let kinesis: KinesisClient | undefined;
  let dynamodb: DynamoDBClient | undefined;
  let producerStop: (() => Promise<void>) | undefined;
  try {
    const [kinesisServer, dynamoServer] = await Promise.all([startKinesisLocal({ env: { SPLIT_SHARD_DURATION: '50ms', MERGE_SHARDS_DURATION: '50ms' } }), startDynalite()]);
    servers.push(kinesisServer, dynamoServer);
    kinesis = new KinesisClient({ region, credentials, endpoint: kinesisServer.endpoint, requestHandler: new NodeHttpHandler() });
    dynamodb = new DynamoDBClient({ region, credentials, endpoint: dynamoServer.endpoint });
    const stream = `soak-${options.seed}-${process.pid}`;
    const app = `soak-app-${options.seed}-${process.pid}`;
    await createStream(kinesis, stream, SHARDS);

    const endpoints: Record<string, { kinesis: string; dynamodb: string }> = {};
    for (const w of WORKERS) {
      const pair = { kinesis: new FaultProxy(kinesisServer.endpoint), dynamodb: new FaultProxy(dynamoServer.endpoint) };
      proxies.push(pair);
      endpoints[w] = { kinesis: await pair.kinesis.start(), dynamodb: await pair.dynamodb.start() };
    }
    const spawn = (w: string): void =>
      cluster.spawn({
        workerId: w,
        applicationName: app,
        streamName: stream,
        clientConfig: { region, credentials, endpoints: endpoints[w]! },
        initialPosition: 'TRIM_HORIZON',
        retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200, kinesisRequestTimeoutMs: REQUEST_TIMEOUT_MS },
        lease: {
          failoverTimeMs: FAILOVER_MS,
          takerIntervalMs: TAKER_MS,
          shardSyncIntervalMs: SHARD_SYNC_MS,
          dynamoDbRequestTimeoutMs: REQUEST_TIMEOUT_MS,
          maxLeasesToStealAtOneTime: 2,
          ...(options.clientVersion === '3.x' ? KCL3_SETTINGS.lease : {}),
        },
        ...(options.clientVersion === '3.x' ? { clientVersion: KCL3_SETTINGS.clientVersion, processCpuMetric: KCL3_SETTINGS.processCpuMetric } : {}),
        coordinator: { parentShardPollIntervalMs: 500, gracefulShutdownTimeoutMs: 10000 },
        logWarnings: true,
      });

    const faults: PlannedFault[] = [];
    const producer = startProducer(kinesis, stream, seeded(options.seed * 131), { keys: 64, batch: 10, intervalMs: 200 });
    producerStop = () => producer.stop();
    for (const w of WORKERS) spawn(w);
    await guard(waitFor(() => new Set(cluster.events.filter((e) => e.t === 'init').map((e) => e.shardId)).size >= SHARDS, 'every shard initialized', 60000, 100));
    faults.push({ kind: 'startup', at: started, until: Date.now(), excuseUntil: Date.now() + EXCUSE_TAIL_MS, workers: [...WORKERS] });
    log(`soak seed ${options.seed}: ${WORKERS.length} workers on ${SHARDS} shards, start-up took ${Date.now() - started} ms; faults for ${options.faultPhaseMs} ms`);

    for (const p of proxies) {
      p.kinesis.chaos(RATES, seeded(options.seed * 17 + proxies.indexOf(p)));
      p.dynamodb.chaos(RATES, seeded(options.seed * 19 + proxies.indexOf(p)));
    }
    const plan = planFaults(options.seed, options.faultPhaseMs, WORKERS, FAILOVER_MS);
    const phaseStart = Date.now();
    const driver = new FaultDriver({ cluster, proxies, workers: WORKERS, kinesis, stream, random, spawn, phaseStart, excuseTailMs: EXCUSE_TAIL_MS, log });
    for (const action of plan) {
      await guard(sleep(phaseStart + action.at - Date.now()));
      await guard(driver.apply(action));
    }
    await guard(sleep(phaseStart + options.faultPhaseMs - Date.now()));
    await guard(driver.settled());
    faults.push(...driver.faults);
    for (const p of proxies) {
      p.kinesis.chaos(undefined);
      p.dynamodb.chaos(undefined);
    }
    await producer.stop();
    const calmAt = Date.now();
    log(`faults stopped; ${producer.acked.length} records acknowledged (${producer.failures} put calls failed); draining`);
    let drained = true;
    try {
      await guard(waitFor(() => {
        const seen = new Set(cluster.events.flatMap((e) => (e.t === 'rec' ? (e.d ?? []) : [])));
        return producer.acked.every((p) => seen.has(p.id));
      }, 'every acknowledged record processed', options.drainMs, 250));
      await guard(sleep(calmAt + SETTLE_MS - Date.now()));
    } catch (err) {
      if (options.signal?.aborted) throw err;
      drained = false;
    }
    log(`drain ${drained ? 'done' : 'timed out'} after ${Date.now() - calmAt} ms; stopping the workers`);
    const stuckOnStop = [...driver.stuck, ...(await guard(cluster.stopGracefully(20000)))];

    const { shards, table } = await readFinalState(kinesis, dynamodb, stream, app);
    const faultsByKind = countFaults(proxies, faults);
    const input = {
      events: cluster.events,
      puts: producer.acked,
      faults,
      shards,
      table,
      failoverMs: FAILOVER_MS,
      takerMs: TAKER_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      slackMs: SLACK_MS,
      latencyMaxMs: RATES.latencyMs[1],
      stuckOnStop,
    };
    if (options.evidenceFile) await writeFile(options.evidenceFile, JSON.stringify(input));
    const verdict = checkSoak(input);
    return { ...verdict, faultsByKind, plan, drained, wallMs: Date.now() - started };
  } finally {
    await producerStop?.();
    await cluster.stopAll();
    process.removeListener('exit', killOnExit);
    await Promise.allSettled(proxies.flatMap((p) => [p.kinesis.stop(), p.dynamodb.stop()]));
    kinesis?.destroy();
    dynamodb?.destroy();
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

/** The figures and violations, as lines to print. */
export function describeResult(result: SoakResult): string[] {
  const lines = [
    `wall ${result.wallMs} ms, drained: ${result.drained}`,
    `figures: ${JSON.stringify(result.figures)}`,
    `faults injected: ${JSON.stringify(result.faultsByKind)}`,
    result.violations.length === 0 ? 'no rule broken' : `${result.violations.length} violation(s):`,
  ];
  for (const v of result.violations) lines.push(`  [${v.rule}] ${v.detail}${v.evidence === undefined ? '' : ` ${JSON.stringify(v.evidence).slice(0, 600)}`}`);
  return lines;
}
