import { errorFields, type Logger } from '../common/logger.ts';
import type { Lease } from '../leases/lease.ts';
import type { LeaseRefresher } from '../leases/lease-refresher.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { StreamRuntime, StreamTarget } from '../coordinator/stream-runtime.ts';
import { formerStreamsToDelete, type FormerStreamsLeasesDeletionStrategy } from './former-streams.ts';
import { streamOfLease } from './lease-table-mode.ts';
import { parseStreamIdentifier, splitMultiStreamLeaseKey } from './multi-stream-lease-key.ts';
import type { StreamTracker, TrackedStream } from './stream-tracker.ts';

/**
 * The streams of a multi-stream application (Java Scheduler's multi-stream part): one StreamRuntime per
 * stream, new streams picked up as the tracker lists them, and the leases of streams no longer listed
 * deleted by the chosen strategy. A held lease of a stream no longer listed (an orphan) is still
 * consumed, as Java does, once its stream is known to be the same stream (same creation epoch).
 */
export class MultiStreamManager {
  private readonly runtimes = new Map<string, StreamRuntime>();
  private trackedStreams = new Map<string, TrackedStream>();
  private pendingSince = new Map<string, number>();
  /** Orphan streams checked: true when the stream still exists as the one the leases name. */
  private readonly orphanAlive = new Map<string, Promise<boolean>>();

  constructor(
    private readonly tracker: StreamTracker,
    private readonly strategy: FormerStreamsLeasesDeletionStrategy,
    private readonly table: LeaseRefresher,
    private readonly makeRuntime: (target: StreamTarget) => StreamRuntime,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** The runtimes of the streams listed now. */
  trackedRuntimes(): StreamRuntime[] {
    return [...this.tracked].map((id) => this.runtimes.get(id)!);
  }

  /** Asks the tracker for the streams; returns the runtimes of streams listed for the first time. */
  async refreshStreams(signal?: AbortSignal): Promise<StreamRuntime[]> {
    const { streams, failures } = await this.tracker.streams(signal);
    for (const f of failures) this.logger.warn({ stream: f.stream, ...errorFields(f.error) }, 'Could not describe a configured stream; leaving it out of this round');
    const added: StreamRuntime[] = [];
    const now = new Map(streams.map((s) => [s.identifier, s]));
    // A listed stream that could not be described this round is still listed.
    for (const [id, s] of this.trackedStreams) if (failures.some((f) => f.stream === s.label)) now.set(id, s);
    for (const s of now.values()) {
      if (this.trackedStreams.has(s.identifier)) continue;
      added.push(this.runtimeOf(s));
      this.logger.info({ stream: s.streamName, streamIdentifier: s.identifier }, 'Tracking a new stream');
    }
    for (const id of this.trackedStreams.keys()) if (!now.has(id)) this.logger.info({ streamIdentifier: id }, 'A stream is no longer listed');
    this.trackedStreams = now;
    return added;
  }

  private get tracked(): Set<string> {
    return new Set(this.trackedStreams.keys());
  }

  private runtimeOf(s: TrackedStream): StreamRuntime {
    let runtime = this.runtimes.get(s.identifier);
    if (!runtime) {
      const stream = s.byArn ? { streamArn: s.streamArn, streamName: s.streamName } : { streamName: s.streamName };
      runtime = this.makeRuntime({ identifier: s.identifier, stream, initialPosition: s.initialPosition });
      this.runtimes.set(s.identifier, runtime);
    }
    return runtime;
  }

  /**
   * The runtime for a lease, or undefined when it must not be consumed: its stream is gone or was
   * recreated (its checkpoints belong to a stream that is no more), or that could not be checked yet.
   */
  async runtimeForLease(leaseKey: string, signal?: AbortSignal): Promise<StreamRuntime | undefined> {
    const id = splitMultiStreamLeaseKey(leaseKey)?.streamIdentifier;
    if (id === undefined) return undefined;
    if (this.tracked.has(id)) return this.runtimes.get(id);
    let alive = this.orphanAlive.get(id);
    if (!alive) {
      alive = this.tracker.stillExists(id, signal);
      this.orphanAlive.set(id, alive);
      alive.catch(() => this.orphanAlive.delete(id)); // a failed check is asked again next time
    }
    if (!(await alive)) return undefined;
    const parsed = parseStreamIdentifier(id)!;
    // Java's orphanedStreamInitialPositionInStream: LATEST.
    return this.runtimeOf({ identifier: id, streamName: parsed.streamName, streamArn: '', initialPosition: 'LATEST', label: parsed.streamName, byArn: false });
  }

  /** The elected worker's round: each listed stream synced and cleaned up, then former streams' leases deleted. */
  async leaderRound(signal?: AbortSignal): Promise<void> {
    for (const runtime of this.trackedRuntimes()) {
      try {
        await runtime.shardSync.syncAndCleanUp(signal);
      } catch (err) {
        if (signal?.aborted) return;
        runtime.logger.warn(errorFields(err), 'Shard sync of a stream failed; next round retries');
      }
    }
    await this.deleteFormerStreams(signal);
  }

  private async deleteFormerStreams(signal?: AbortSignal): Promise<void> {
    const leases = await this.table.listLeases(signal ? { abortSignal: signal } : {});
    const byStream = new Map<string, Lease[]>();
    for (const l of leases) {
      const id = streamOfLease(l);
      if (id !== undefined) byStream.set(id, [...(byStream.get(id) ?? []), l]);
    }
    const gone = new Set<string>();
    for (const id of byStream.keys()) {
      if (this.tracked.has(id)) continue;
      try {
        if (!(await this.tracker.stillExists(id, signal))) gone.add(id);
      } catch (err) {
        if (signal?.aborted) return;
        this.logger.warn({ streamIdentifier: id, ...errorFields(err) }, 'Could not check whether a former stream exists; its leases stay for now');
      }
    }
    const provided = this.strategy.type === 'PROVIDED_STREAMS_DEFERRED_DELETION' ? await this.strategy.streamIdentifiersForLeaseCleanup() : undefined;
    const decision = formerStreamsToDelete(this.strategy, {
      tracked: this.tracked,
      inLeaseTable: new Set(byStream.keys()),
      ...(provided ? { provided } : {}),
      gone,
      pendingSince: this.pendingSince,
      now: Date.now(),
    });
    this.pendingSince = decision.pendingSince;
    let deleted = 0;
    for (const id of decision.toDelete) {
      if (await this.deleteLeasesOf(id, byStream.get(id) ?? [], gone.has(id))) {
        deleted++;
        this.pendingSince.delete(id);
      }
    }
    this.metrics
      .scope('MultiStreamTracker')
      .add('ActiveStreams.Count', this.tracked.size, 'Count', 'SUMMARY')
      .add('StreamsPendingDeletion.Count', this.pendingSince.size, 'Count', 'SUMMARY')
      .add('NonExistingStreamDelete.Count', gone.size, 'Count', 'SUMMARY')
      .add('DeletedStreams.Count', deleted, 'Count', 'SUMMARY')
      .end();
    if (this.pendingSince.size > 0) {
      const wait = this.strategy.type === 'NO_STREAMS_LEASES_DELETION' ? undefined : this.strategy.waitPeriodToDeleteFormerStreamsMs;
      this.logger.info({ pending: Object.fromEntries([...this.pendingSince].map(([id, since]) => [id, wait === undefined ? 'never' : new Date(since + wait).toISOString()])) }, 'Streams no longer listed; their leases are deleted at the times shown');
    }
  }

  /** Deletes a stream's leases; stops at the first failure (the next round retries). */
  private async deleteLeasesOf(id: string, leases: Lease[], gone: boolean): Promise<boolean> {
    this.logger.warn({ streamIdentifier: id, leases: leases.length, reason: gone ? 'the stream no longer exists (deleted or recreated)' : 'no longer listed past the wait' }, 'Deleting the leases of a former stream');
    for (const lease of leases) {
      try {
        await this.table.deleteLease(lease.leaseKey);
      } catch (err) {
        this.logger.warn({ leaseKey: lease.leaseKey, ...errorFields(err) }, 'Could not delete a former stream lease; next round retries');
        return false;
      }
    }
    this.orphanAlive.delete(id);
    if (!this.tracked.has(id)) this.runtimes.delete(id);
    return true;
  }
}
