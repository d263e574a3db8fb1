import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SchedulerConfig } from '../../src/index.ts';
import type { WorkerProcessExtras } from './worker-process.ts';

const WORKER = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

export interface WorkerEvent {
  w: string;
  at: number;
  t: string;
  shardId?: string;
  d?: string[];
  [key: string]: unknown;
}

/** Worker processes of one application, and everything they reported. */
export class Cluster {
  readonly events: WorkerEvent[] = [];
  private readonly children = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<number | null>>();

  /** Starts a worker (again, after it exited: same workerId, new process); its exit is recorded as a `processExit` event. */
  spawn(config: Omit<SchedulerConfig, 'processorFactory'> & { workerId: string } & WorkerProcessExtras): void {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.set(config.workerId, child);
    this.exits.set(
      config.workerId,
      new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          this.events.push({ w: config.workerId, p: child.pid, at: Date.now(), t: 'processExit', code, signal });
          resolve(code);
        }),
      ),
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as WorkerEvent);
      } catch {
        /* not ours */
      }
    });
  }

  kill(workerId: string, signal: NodeJS.Signals): void {
    this.children.get(workerId)?.kill(signal);
  }

  /** True while the worker's current process has not exited (a stopped process is alive). */
  alive(workerId: string): boolean {
    const child = this.children.get(workerId);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  exited(workerId: string): Promise<number | null> {
    return this.exits.get(workerId) ?? Promise.resolve(null);
  }

  /** Shards each worker holds now, from its acquired/lost events. */
  holdings(): Map<string, Set<string>> {
    const held = new Map<string, Set<string>>();
    for (const e of this.events) {
      const set = held.get(e.w) ?? new Set<string>();
      held.set(e.w, set);
      if (e.t === 'acquired') set.add(e.shardId!);
      if (e.t === 'lost' || e.t === 'exit' || e.t === 'processExit' || e.t === 'shutdownRequested') {
        if (e.t === 'exit' || e.t === 'processExit') set.clear();
        else set.delete(e.shardId!);
      }
    }
    return held;
  }

  /** Every record each worker processed, with when. */
  processed(): { w: string; at: number; shardId: string; data: string }[] {
    return this.events.filter((e) => e.t === 'rec').flatMap((e) => e.d!.map((data) => ({ w: e.w, at: e.at, shardId: e.shardId!, data })));
  }

  async stopAll(): Promise<void> {
    this.killAllNow();
    await Promise.all(this.exits.values());
  }

  /** SIGKILL every live child, synchronously (safe in a process 'exit' handler). */
  killAllNow(): void {
    for (const child of this.children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** SIGTERM every live worker and wait up to `timeoutMs`; returns the ids that had to be SIGKILLed. */
  async stopGracefully(timeoutMs: number): Promise<string[]> {
    const ids = [...this.children.keys()].filter((id) => this.alive(id));
    for (const id of ids) this.kill(id, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(ids.map((id) => this.exited(id))), deadline]);
    clearTimeout(timer);
    const stuck = ids.filter((id) => this.alive(id));
    for (const id of stuck) this.kill(id, 'SIGKILL');
    await Promise.all(ids.map((id) => this.exited(id)));
    return stuck;
  }
}
