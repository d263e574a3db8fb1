// One driver for a mixed fleet: Java KCL workers (test/interop/java-worker) and ts-kcl workers
// (test/support/worker-process.ts) as processes that report the same JSON events on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { JavaWorkerBuild } from './java-build.ts';
import type { WorkerEvent } from '../support/cluster.ts';
import type { SchedulerConfig } from '../../src/index.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';

const TS_WORKER = fileURLToPath(new URL('../support/worker-process.ts', import.meta.url));

export interface JavaWorkerOptions {
  stream: string;
  app: string;
  endpoints: { kinesis: string; dynamodb: string };
  /** kinesalite answers JSON only; kinesis-local speaks CBOR, Java's default. */
  cbor: boolean;
  failoverMs?: number;
  maxLeasesToStealAtOneTime?: number;
  /** Prepare a checkpoint at the record with this data, then checkpoint nothing more. */
  prepareOn?: string;
  /** KCL 3.x only: '3x' runs its own mode; the default is its 2.x-compatible mode. */
  clientVersion?: '3x' | 'compat';
  /** KCL 3.x only: its 3.x settings, in ms (java-worker Kcl3Config), e.g. short intervals for a test. */
  kcl3?: Kcl3Options;
  /** Java loggers (package or class names) that also report INFO lines, as `log` events. */
  infoLoggers?: string[];
  /** Multi-stream mode: the serialized StreamIdentifiers (`account:stream:creationEpoch`) to track. */
  streamIds?: string[];
}

export interface Kcl3Options {
  leaseAssignmentIntervalMs?: number;
  workerMetricsReporterFreqMs?: number;
  inMemoryWorkerMetricsCaptureFrequencyMs?: number;
  gracefulLeaseHandoff?: boolean;
  gracefulLeaseHandoffTimeoutMs?: number;
  /** The DynamoDB lock on the `Leader` item (Java: 120000 and 30000). */
  leaderLeaseDurationMs?: number;
  leaderHeartbeatMs?: number;
  reBalanceThresholdPercentage?: number;
  dampeningPercentage?: number;
  varianceBalancingFrequency?: number;
  /**
   * 'cpu': LinuxCpuWorkerMetric, the host's CPU from /proc/stat (Java reports no metric off EC2, ECS and EKS);
   * `file:<path>`: the CPU utilization (0-100) written in that file, read at every capture.
   */
  workerMetrics?: 'cpu' | `file:${string}`;
}

export class Fleet {
  readonly events: WorkerEvent[] = [];
  private readonly children = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<number | null>>();

  spawnJava(build: JavaWorkerBuild, workerId: string, o: JavaWorkerOptions): void {
    const props = [
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1', // a short-lived test JVM: quick start, little compiling on 2 cores
      '-Xmx256m',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      ...(o.infoLoggers ?? []).map((l) => `-Dorg.slf4j.simpleLogger.log.${l}=info`),
      `-Daws.cborEnabled=${o.cbor}`,
    ];
    const args = [
      `worker=${workerId}`,
      `stream=${o.stream}`,
      `app=${o.app}`,
      `kinesis=${o.endpoints.kinesis}`,
      `dynamodb=${o.endpoints.dynamodb}`,
      `failoverMs=${o.failoverMs ?? 3000}`,
      `maxLeasesToStealAtOneTime=${o.maxLeasesToStealAtOneTime ?? 1}`,
      ...(o.prepareOn ? [`prepareOn=${o.prepareOn}`] : []),
      ...(o.clientVersion ? [`clientVersion=${o.clientVersion}`] : []),
      ...Object.entries(o.kcl3 ?? {}).map(([k, v]) => `${k}=${String(v)}`),
      ...(o.streamIds ? [`streamIds=${o.streamIds.join(',')}`] : []),
    ];
    this.track(workerId, spawn('java', [...props, '-cp', build.classpath, 'tskcl.interop.JavaWorker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }), true);
  }

  spawnTs(config: Omit<SchedulerConfig, 'processorFactory'> & { workerId: string; logWarnings?: boolean }): void {
    this.track(config.workerId, spawn(process.execPath, ['--import', 'tsx', TS_WORKER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] }), false);
  }

  private track(workerId: string, child: ChildProcess, java: boolean): void {
    this.children.set(workerId, child);
    this.exits.set(
      workerId,
      new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          this.events.push({ w: workerId, at: Date.now(), t: 'processExit', code, signal });
          resolve(code);
        }),
      ),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as WorkerEvent);
      } catch {
        /* not an event */
      }
    });
    // Java logs WARN and ERROR lines (and INFO of infoLoggers; slf4j-simple) on stderr; ts-kcl workers report theirs as events.
    // A stack trace's lines are appended to its log line (the first few: enough to see the cause).
    let last: WorkerEvent | undefined;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (!java) return;
      const level = /^\[[^\]]*\] (ERROR|WARN|INFO)\b/.exec(line)?.[1];
      if (level) this.events.push((last = { w: workerId, at: Date.now(), t: 'log', java: true, level: level.toLowerCase(), msg: line, trace: [] as string[] }));
      else if (last && (last.trace as string[]).length < 12) (last.trace as string[]).push(line.trim());
    });
  }

  kill(workerId: string, signal: NodeJS.Signals): void {
    this.children.get(workerId)?.kill(signal);
  }

  exited(workerId: string): Promise<number | null> {
    return this.exits.get(workerId) ?? Promise.resolve(null);
  }

  /** Every worker still running gets SIGKILL; resolves once all have exited. */
  async stopAll(): Promise<void> {
    for (const [id, child] of this.children) if (child.exitCode === null && child.signalCode === null) this.kill(id, 'SIGKILL');
    await Promise.all([...this.exits.values()]);
  }

  of(workerId: string, type?: string): WorkerEvent[] {
    return this.events.filter((e) => e.w === workerId && (type === undefined || e.t === type));
  }

  /** Every record data delivered, by anyone. */
  delivered(): Set<string> {
    return new Set(this.events.filter((e) => e.t === 'rec').flatMap((e) => e.d ?? []));
  }

  /** How often each record data was delivered since `from` (an index into events). */
  deliveryCounts(from = 0): Map<string, number> {
    const counts = new Map<string, number>();
    for (const e of this.events.slice(from)) if (e.t === 'rec') for (const d of e.d ?? []) counts.set(d, (counts.get(d) ?? 0) + 1);
    return counts;
  }

  /** The last sequence number a worker delivered (or checkpointed, with type 'cp') on a shard. */
  last(workerId: string, shardId: string, type: 'rec' | 'cp'): string | undefined {
    const e = this.of(workerId, type).filter((x) => x.shardId === shardId).at(-1);
    if (!e) return undefined;
    return type === 'rec' ? (e.s as string[]).at(-1) : (e.seq as string);
  }

  /** The latest `init` on a shard after event index `from`. */
  initAfter(shardId: string, from: number): WorkerEvent | undefined {
    return this.events.slice(from).filter((e) => e.t === 'init' && e.shardId === shardId).at(-1);
  }
}

/** KCL 3.x adds an index on leaseOwner with an on-demand UpdateTable that dynalite refuses: create the table with it, as ts-kcl does. */
export async function createTableWith3xIndex(dynamodb: DynamoDBClient, table: string): Promise<void> {
  const refresher = new DynamoDBLeaseRefresher(dynamodb, table, 'PROVISIONED');
  await refresher.createLeaseTableIfNotExists(undefined, { withOwnerIndex: true });
  await refresher.waitUntilLeaseTableExists(30000);
}
