import type { ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';

/** A shard's lease, as stored in one lease-table item (Java KCL 2.x schema). */
export interface Lease {
  /** The shard id in single-stream mode; `<account>:<stream>:<creationEpoch>:<shardId>` in multi-stream mode. */
  leaseKey: string;
  /** The worker holding it; absent when unassigned. */
  leaseOwner?: string;
  /** Optimistic lock and heartbeat: bumped by every renewal, take and checkpoint. */
  leaseCounter: number;
  checkpoint: ExtendedSequenceNumber;
  pendingCheckpoint?: ExtendedSequenceNumber;
  pendingCheckpointState?: Uint8Array;
  ownerSwitchesSinceCheckpoint: number;
  parentShardIds: string[];
  childShardIds: string[];
  hashKeyRange?: HashKeyRange;
  /** Multi-stream mode only: the serialized StreamIdentifier (`account:stream:creationEpoch`), stored as `streamName`. */
  streamIdentifier?: string;
  /** Multi-stream mode only: the shard id (the lease key then names the stream too). */
  shardId?: string;
  /** KCL 3.x graceful handoff: the old owner, which checkpoints before `leaseOwner` (the new one) starts. */
  checkpointOwner?: string;
  /** KCL 3.x: the shard's recent read throughput, written on renew; the 3.x leader balances by it. */
  throughputKBps?: number;
}

/** A handoff to another worker is pending and this worker must still checkpoint (Java Lease.shutdownRequested + owner check). */
export const isHandoffFrom = (lease: Lease, workerId: string): boolean => lease.checkpointOwner === workerId && lease.leaseOwner !== workerId;

export interface HashKeyRange {
  startingHashKey: string;
  endingHashKey: string;
}

export const isShardEnded = (lease: Lease): boolean => lease.checkpoint.sequenceNumber === 'SHARD_END';
