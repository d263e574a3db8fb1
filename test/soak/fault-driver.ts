// Carries out the soak's planned faults against the cluster, the proxies and the stream, and records
// each with its time (and the shards it involves) so the checks can excuse what it explains.
import { ListShardsCommand, SplitShardCommand, MergeShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import type { Cluster } from '../support/cluster.ts';
import type { FaultProxy } from '../support/fault-proxy.ts';
import { waitFor, waitForStreamActive } from '../support/env.ts';
import type { PlannedFault } from './checks.ts';
import type { PlannedAction } from './schedule.ts';
import { pickOne, type Random } from './random.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** How long a worker may ignore SIGTERM before it is recorded as stuck and killed. */
const STOP_TIMEOUT_MS = 20000;

export interface FaultContext {
  cluster: Cluster;
  proxies: { kinesis: FaultProxy; dynamodb: FaultProxy }[];
  workers: readonly string[];
  kinesis: KinesisClient;
  stream: string;
  random: Random;
  spawn(workerId: string): void;
  phaseStart: number;
  excuseTailMs: number;
  log(line: string): void;
}

async function openShards(kinesis: KinesisClient, stream: string): Promise<Shard[]> {
  const out = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  return (out.Shards ?? []).filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined);
}

export class FaultDriver {
  readonly faults: PlannedFault[] = [];
  /** Workers that ignored a planned SIGTERM. */
  readonly stuck: string[] = [];
  private readonly pending: Promise<unknown>[] = [];

  constructor(private readonly c: FaultContext) {}

  /** Every fault's tail (restarts, wake-ups, reconnections) has run. */
  async settled(): Promise<void> {
    await Promise.all(this.pending);
  }

  /** Starts one planned fault; what must happen later (a restart, SIGCONT, the end of a blackout) runs in the background. */
  async apply(action: PlannedAction): Promise<void> {
    const at = Date.now();
    switch (action.kind) {
      case 'split':
        return this.split(at);
      case 'merge':
        return this.merge(at);
      case 'kill9':
        return this.kill9(at, action.worker, action.restartAfterMs);
      case 'sigterm':
        return this.sigterm(at, action.worker);
      case 'sigstop':
        return this.sigstop(at, action.worker, action.forMs);
      case 'blackout':
        return this.blackout(at, this.c.proxies, [...this.c.workers], 'blackout', action.forMs);
      case 'isolate':
        return this.blackout(at, [this.c.proxies[this.c.workers.indexOf(action.worker)]!], [action.worker], 'isolate', action.forMs);
      default: {
        const never: never = action;
        throw new Error(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }

  private async split(at: number): Promise<void> {
    const { kinesis, stream } = this.c;
    const open = await openShards(kinesis, stream);
    const shard = pickOne(this.c.random, open);
    const start = BigInt(shard.HashKeyRange!.StartingHashKey!);
    const end = BigInt(shard.HashKeyRange!.EndingHashKey!);
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shard.ShardId!, NewStartingHashKey: ((start + end) / 2n + 1n).toString() }));
    const children = await this.newShards(open);
    // A reshard delays only the shards it involves: the parent's last records and its children's first.
    this.record({ kind: 'split', at, until: Date.now(), workers: [], shards: [shard.ShardId!, ...children] });
  }

  private async merge(at: number): Promise<void> {
    const { kinesis, stream } = this.c;
    const open = await openShards(kinesis, stream);
    const byStart = [...open].sort((a, b) => (BigInt(a.HashKeyRange!.StartingHashKey!) < BigInt(b.HashKeyRange!.StartingHashKey!) ? -1 : 1));
    const adjacent = byStart.slice(1).map((b, i) => [byStart[i]!, b] as const).filter(([a, b]) => BigInt(a.HashKeyRange!.EndingHashKey!) + 1n === BigInt(b.HashKeyRange!.StartingHashKey!));
    const [a, b] = pickOne(this.c.random, adjacent);
    await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: a.ShardId!, AdjacentShardToMerge: b.ShardId! }));
    const child = await this.newShards(open);
    this.record({ kind: 'merge', at, until: Date.now(), workers: [], shards: [a.ShardId!, b.ShardId!, ...child] });
  }

  /** Once the stream is ACTIVE again, the open shards that were not open before. */
  private async newShards(before: Shard[]): Promise<string[]> {
    await waitForStreamActive(this.c.kinesis, this.c.stream);
    const known = new Set(before.map((s) => s.ShardId));
    return (await openShards(this.c.kinesis, this.c.stream)).map((s) => s.ShardId!).filter((id) => !known.has(id));
  }

  /**
   * kill -9, restart under the same workerId (its leases still name it), and SIGTERM that new process
   * while it is still starting up, renewing those leases (issue 10 #4), after a seeded delay; then back for good.
   */
  private kill9(at: number, w: string, restartAfterMs: number): void {
    const { cluster } = this.c;
    const shards = this.held(w);
    const startupDelayMs = Math.floor(this.c.random() * 1500);
    cluster.kill(w, 'SIGKILL');
    this.later(async () => {
      await this.restartWhenExited(w, restartAfterMs);
      const spawnedAt = Date.now();
      await waitFor(() => cluster.events.some((e) => e.w === w && e.t === 'started' && e.at >= spawnedAt - 500), `${w} started again`, 30000, 20);
      await sleep(startupDelayMs);
      cluster.kill(w, 'SIGTERM');
      await this.restartWhenExited(w, 0);
      this.record({ kind: 'kill9', at, until: Date.now(), workers: [w], shards });
    });
  }

  private sigterm(at: number, w: string): void {
    const shards = this.held(w);
    this.c.cluster.kill(w, 'SIGTERM');
    this.later(async () => {
      await this.restartWhenExited(w, 0);
      this.record({ kind: 'sigterm', at, until: Date.now(), workers: [w], shards });
    });
  }

  /** A zombie: stopped past the failover time (others take its leases), then woken. */
  private sigstop(at: number, w: string, forMs: number): void {
    this.record({ kind: 'sigstop', at, until: at + forMs, workers: [w], shards: this.held(w) });
    this.c.cluster.kill(w, 'SIGSTOP');
    this.later(async () => {
      await sleep(forMs);
      this.c.cluster.kill(w, 'SIGCONT');
    });
  }

  /** DynamoDB unanswered through these proxies for `forMs`, then their stalled connections reset. */
  private blackout(at: number, proxies: { dynamodb: FaultProxy }[], workers: string[], kind: string, forMs: number): void {
    const shards = kind === 'isolate' ? workers.flatMap((w) => this.held(w)) : undefined;
    this.record({ kind, at, until: at + forMs, workers, ...(shards ? { shards } : {}) });
    for (const p of proxies) p.dynamodb.blackout(true);
    this.later(async () => {
      await sleep(forMs);
      for (const p of proxies) p.dynamodb.blackout(false);
    });
  }

  private later(work: () => Promise<void>): void {
    this.pending.push(work());
  }

  private held(w: string): string[] {
    return [...(this.c.cluster.holdings().get(w) ?? [])];
  }

  private record(f: Omit<PlannedFault, 'excuseUntil'>): void {
    this.faults.push({ ...f, excuseUntil: f.until + this.c.excuseTailMs });
    const t0 = this.c.phaseStart;
    this.c.log(`  +${f.at - t0} ms ${f.kind} ${f.workers.join(',')} until +${f.until - t0} ms${f.shards ? ` shards ${f.shards.join(',')}` : ''}`);
  }

  /** Restarts a stopped worker; one that ignores SIGTERM is recorded and killed first. */
  private async restartWhenExited(w: string, afterMs: number): Promise<void> {
    const { cluster } = this.c;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([cluster.exited(w), new Promise((r) => (timer = setTimeout(r, STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (cluster.alive(w)) {
      this.stuck.push(w);
      cluster.kill(w, 'SIGKILL');
      await cluster.exited(w);
    }
    await sleep(afterMs);
    this.c.spawn(w);
  }
}
