import { settlesWithin } from '../common/backoff.ts';
import type { Logger } from '../common/logger.ts';
import type { ShardConsumer } from './shard-consumer.ts';

/** What the handler needs of the worker: its consumers, and the hand-over write. */
export interface HandoffHost {
  consumerFor(leaseKey: string): ShardConsumer | undefined;
  /** Stops holding the lease here and writes the hand-over (checkpoint owner removed); the consumer is already done or told. */
  handOver(leaseKey: string, consumer: ShardConsumer): Promise<void>;
}

/**
 * Java KCL 3.x LeaseGracefulShutdownHandler: when the leader moves a lease this worker holds, its
 * processor gets shutdownRequested (and checkpoints there); once it has shut down, the lease goes to
 * its new owner, which starts from that checkpoint: nothing is processed twice. A processor that takes
 * longer than the handoff timeout loses the lease anyway (leaseLost), so a stuck processor cannot pin it.
 */
export class LeaseGracefulShutdownHandler {
  private readonly pending = new Set<string>();

  constructor(
    private readonly host: HandoffHost,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Called on every renewal that sees the handoff; the first call starts it, the rest are no-ops. */
  enqueue(leaseKey: string, newOwner: string): void {
    if (this.pending.has(leaseKey)) return;
    const consumer = this.host.consumerFor(leaseKey);
    if (!consumer) return;
    this.pending.add(leaseKey);
    this.logger.info({ leaseKey, newOwner }, 'Lease moved by the leader: checkpointing before handing it over');
    const started = performance.now();
    void this.handOff(leaseKey, consumer)
      .then((inTime) => {
        const ms = Math.round(performance.now() - started);
        if (inTime) this.logger.info({ leaseKey, newOwner, ms }, 'Lease handed over after the processor shut down');
        else this.logger.warn({ leaseKey, newOwner, timeoutMs: this.timeoutMs }, 'The processor did not shut down within the handoff timeout; lease handed over anyway. Raise lease.gracefulLeaseHandoff.timeoutMs if it needs longer');
      })
      .finally(() => this.pending.delete(leaseKey));
  }

  private async handOff(leaseKey: string, consumer: ShardConsumer): Promise<boolean> {
    const inTime = await settlesWithin(
      consumer.requestShutdown().then(() => consumer.done),
      this.timeoutMs,
    );
    if (!inTime) consumer.leaseLost();
    await this.host.handOver(leaseKey, consumer);
    return inTime;
  }
}
