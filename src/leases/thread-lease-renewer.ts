import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Lease } from './lease.ts';
import type { LeaseRefresher } from './lease-refresher.ts';
import { LeaseRenewer, type LeaseLostListener } from './lease-renewer.ts';
import { newRenewalSlot, sharedNow, type HeldLease } from './held-lease.ts';
import { deserializeError, type FromRenewalThread, type LeanAccessSource, type RenewalThreadSettings, type ToRenewalThread } from './renewal-thread-messages.ts';
import type { LeanAccess } from './dynamodb/lean/lean-dynamodb.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import { settlesWithin } from '../common/backoff.ts';
import type { Metrics } from '../metrics/metrics.ts';

type Reply = Extract<FromRenewalThread, { type: 'reply' }>;
type Request = ToRenewalThread extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

/**
 * The renewer the worker uses by default: the same API as LeaseRenewer, but renewals, checkpoints and
 * releases run in a worker thread (renewal-thread.ts) that a busy main event loop cannot starve. Each
 * held lease's last renewal time is a SharedArrayBuffer slot the thread writes, so local expiry here is
 * exact even right after this thread was blocked; losses reported by the thread arrive as messages.
 */
export class ThreadLeaseRenewer extends LeaseRenewer {
  override readonly ownsSchedule = true;
  private worker: Worker | undefined;
  private closed = false;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (err: Error) => void }>();
  /** The thread's DynamoDB access as last resolved here, for a thread started later; and how to stop watching it. */
  private access: LeanAccess | undefined;
  private stopWatching: (() => void) | undefined;

  /** Without `accessSource`, the thread calls DynamoDB with `settings.client`. */
  constructor(
    private readonly settings: RenewalThreadSettings,
    refresher: LeaseRefresher,
    logger: Logger,
    metrics: Metrics,
    onLeaseLost: LeaseLostListener,
    private readonly accessSource?: LeanAccessSource,
  ) {
    super(refresher, settings.workerId, settings.failoverTimeMs, logger, metrics, onLeaseLost);
  }

  /** Starts the thread now, so it is up by the time the first leases are taken. */
  override start(): void {
    this.thread();
  }

  /** The thread, started on first use; undefined once closed. */
  private thread(): Worker | undefined {
    if (this.closed) return undefined;
    if (this.worker) return this.worker;
    const worker = spawnRenewalThread(this.settings);
    worker.on('message', (m: FromRenewalThread) => this.onMessage(m));
    worker.on('error', (err) => this.logger.error(errorFields(err), 'The lease renewal thread failed'));
    worker.on('exit', (code) => this.onExit(worker, code));
    this.worker = worker;
    this.logger.info({ threadId: worker.threadId }, 'Renewing leases in a worker thread');
    if (this.access) worker.postMessage({ type: 'access', access: this.access } satisfies ToRenewalThread);
    this.stopWatching ??= this.accessSource?.watch((access) => {
      this.access = access;
      this.worker?.postMessage({ type: 'access', access } satisfies ToRenewalThread);
    }, this.logger);
    return worker;
  }

  private post(message: ToRenewalThread): void {
    this.thread()?.postMessage(message);
  }

  private request(message: Request): Promise<Reply> {
    const worker = this.thread();
    if (!worker) return Promise.resolve({ type: 'reply', id: 0, ok: false });
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id });
    });
  }

  private onMessage(m: FromRenewalThread): void {
    switch (m.type) {
      case 'reply': {
        const waiter = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) waiter?.reject(deserializeError(m.error));
        else waiter?.resolve(m);
        return;
      }
      case 'lost': {
        const held = this.held.get(m.leaseKey);
        if (held?.concurrencyToken === m.token) this.lose(held, m.reason);
        return;
      }
      case 'handoff': {
        const held = this.held.get(m.leaseKey);
        if (held?.concurrencyToken !== m.token) return;
        held.lease.leaseOwner = m.newOwner;
        held.lease.checkpointOwner = this.workerId;
        this.onHandoffRequested?.(m.leaseKey, m.newOwner);
        return;
      }
      case 'log':
        this.logger[m.level](m.obj, m.msg);
        return;
      case 'metric':
        this.metrics.enqueue([m.datum]);
        return;
    }
  }

  /** A thread that dies by itself renewed nothing since: its leases are given up now, a new thread starts on next use. */
  private onExit(worker: Worker, code: number): void {
    if (this.worker === worker) this.worker = undefined;
    for (const waiter of this.pending.values()) waiter.reject(new Error(`The lease renewal thread exited (code ${code})`));
    this.pending.clear();
    if (this.closed) return;
    this.logger.error({ code }, 'The lease renewal thread exited unexpectedly; its leases are given up');
    for (const held of this.heldLeases()) this.lose(held, 'the renewal thread exited');
  }

  override async resume(lease: Lease): Promise<HeldLease | undefined> {
    const token = randomUUID();
    const slot = newRenewalSlot();
    try {
      const reply = await this.request({ type: 'resume', lease, token, slot });
      if (!reply.ok || !reply.lease || this.closed) return undefined;
      Object.assign(lease, reply.lease); // the caller sees the renewed counter, as with the in-process renewer
      return this.adopt(lease, token, slot); // renewed at the time the thread wrote into the slot
    } catch (err) {
      this.logger.warn({ leaseKey: lease.leaseKey, ...errorFields(err) }, 'Could not resume an own lease at start-up');
      return undefined;
    }
  }

  override add(lease: Lease, renewedAtMs = sharedNow()): HeldLease {
    const held = this.adopt(lease, randomUUID(), newRenewalSlot(), renewedAtMs);
    this.post({ type: 'hold', lease, token: held.concurrencyToken, slot: held.slot, renewedAtMs });
    return held;
  }

  override drop(leaseKey: string): HeldLease | undefined {
    const held = this.forget(leaseKey);
    if (held) this.post({ type: 'drop', leaseKey, token: held.concurrencyToken });
    return held;
  }

  /** The thread's renewer writes the throughput (or stops). */
  override recordThroughputOver(renewerIntervalMs: number): void {
    this.post({ type: 'throughput', renewerIntervalMs });
  }

  /** One renewal round now, in the thread (it also runs them on its own schedule). */
  override async renewLeases(): Promise<void> {
    await this.request({ type: 'renewNow' });
  }

  override async updateLease(leaseKey: string, concurrencyToken: string, change: (lease: Lease) => void): Promise<boolean> {
    const held = this.held.get(leaseKey);
    if (!held || held.concurrencyToken !== concurrencyToken || this.isExpired(held)) return false;
    const copy: Lease = structuredClone(held.lease);
    change(copy);
    const reply = await this.request({ type: 'update', leaseKey, token: concurrencyToken, lease: copy });
    if (!reply.ok || !reply.lease) return this.lose(held, 'the renewal thread no longer holds it (expired, or changed by another worker)');
    if (this.held.get(leaseKey) === held) held.lease = reply.lease;
    return true;
  }

  override async releaseLease(leaseKey: string, timeoutMs: number): Promise<boolean> {
    const held = this.forget(leaseKey);
    if (!held) return false;
    try {
      return (await this.request({ type: 'release', leaseKey, token: held.concurrencyToken, timeoutMs })).ok;
    } catch (err) {
      this.logger.warn({ leaseKey, ...errorFields(err) }, 'Could not release lease; it will expire instead');
      return false;
    }
  }

  /**
   * Forgets every lease and ends the thread: writes already asked for (a last checkpoint) finish and
   * are answered first, within the failover time; nothing of the thread outlives the worker.
   */
  override async close(): Promise<void> {
    this.closed = true;
    this.stopWatching?.();
    await super.close();
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToRenewalThread);
    if (!(await settlesWithin(exited, this.settings.failoverTimeMs))) await worker.terminate();
    this.worker = undefined;
  }
}

/**
 * Starts renewal-thread next to this module: the .js file when built; under tsx (this module is .ts)
 * the .ts file through a bootstrap that registers tsx in the thread first, since Node 20 does not
 * apply the parent's `--import tsx` hooks to a worker's entry point.
 */
function spawnRenewalThread(settings: RenewalThreadSettings): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./renewal-thread.js', here), { workerData: settings, resourceLimits: THREAD_LIMITS });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./renewal-thread.ts', here).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: settings, resourceLimits: THREAD_LIMITS });
}

/**
 * The thread's young generation held small: its garbage is small JSON bodies and headers, and V8 would
 * otherwise grow it towards the main thread's default (16 MB semi-spaces) at hundreds of renewals a
 * second. Only the young generation: an old-generation cap could end the thread, and the leases with it.
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 4 };
