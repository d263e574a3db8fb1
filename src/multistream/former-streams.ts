/**
 * What happens to the leases of a stream the application no longer lists (Java's
 * FormerStreamsLeasesDeletionStrategy). Deletion is deferred so that a worker whose stream list is
 * briefly stale (deployed before the others learn of a new stream) cannot delete live progress.
 */
export type FormerStreamsLeasesDeletionStrategy =
  | {
      /** Keep the leases of streams no longer listed (those of streams deleted in Kinesis still go). */
      type: 'NO_STREAMS_LEASES_DELETION';
    }
  | {
      /** Delete the leases of every stream no longer listed, once it has been unlisted for the wait. */
      type: 'FORMER_STREAMS_AUTO_DETECTION_DEFERRED_DELETION';
      /** How long a stream must stay unlisted before its leases go (Java waitPeriodToDeleteFormerStreams). */
      waitPeriodToDeleteFormerStreamsMs: number;
    }
  | {
      /** Delete the leases of the streams the application names, once unlisted for the wait. */
      type: 'PROVIDED_STREAMS_DEFERRED_DELETION';
      /** How long a stream must stay unlisted before its leases go. */
      waitPeriodToDeleteFormerStreamsMs: number;
      /** Serialized stream identifiers (`account:stream:creationEpoch`) whose leases may go. */
      streamIdentifiersForLeaseCleanup: () => string[] | Promise<string[]>;
    };

export interface FormerStreamsInput {
  /** Identifiers the stream list resolves to now. */
  tracked: ReadonlySet<string>;
  /** Identifiers that have leases in the table. */
  inLeaseTable: ReadonlySet<string>;
  /** For PROVIDED_STREAMS_DEFERRED_DELETION: the identifiers the application offered for cleanup. */
  provided?: readonly string[];
  /** Untracked identifiers whose stream is gone or was recreated (a new creation epoch): deleted at once. */
  gone: ReadonlySet<string>;
  /** When each pending identifier was first seen untracked (ms); updated by the decision. */
  pendingSince: ReadonlyMap<string, number>;
  now: number;
}

/**
 * Which streams' leases to delete now, and the pending list afterwards (a pure decision, as Java's
 * Scheduler.checkAndSyncStreamShardsAndLeases makes it). A stream listed again leaves the pending list.
 */
export function formerStreamsToDelete(strategy: FormerStreamsLeasesDeletionStrategy, input: FormerStreamsInput): { toDelete: string[]; pendingSince: Map<string, number> } {
  const pending = new Map([...input.pendingSince].filter(([id]) => !input.tracked.has(id) && input.inLeaseTable.has(id)));
  const candidates =
    strategy.type === 'FORMER_STREAMS_AUTO_DETECTION_DEFERRED_DELETION' ? [...input.inLeaseTable] : strategy.type === 'PROVIDED_STREAMS_DEFERRED_DELETION' ? [...(input.provided ?? [])] : [];
  for (const id of candidates) if (!input.tracked.has(id) && input.inLeaseTable.has(id) && !pending.has(id)) pending.set(id, input.now);
  const waitMs = strategy.type === 'NO_STREAMS_LEASES_DELETION' ? Infinity : strategy.waitPeriodToDeleteFormerStreamsMs;
  const due = [...pending].filter(([, since]) => input.now - since >= waitMs).map(([id]) => id);
  const gone = [...input.gone].filter((id) => !input.tracked.has(id) && input.inLeaseTable.has(id));
  const toDelete = [...new Set([...due, ...gone])];
  return { toDelete, pendingSince: pending };
}
