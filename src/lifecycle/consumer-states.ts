/** The shard consumer's states, as the Java KCL names them. */
export const ConsumerState = {
  WAITING_ON_PARENT_SHARDS: 'WAITING_ON_PARENT_SHARDS',
  INITIALIZING: 'INITIALIZING',
  PROCESSING: 'PROCESSING',
  SHUTDOWN_REQUESTED: 'SHUTDOWN_REQUESTED',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  SHUTDOWN_COMPLETE: 'SHUTDOWN_COMPLETE',
} as const;
export type ConsumerState = (typeof ConsumerState)[keyof typeof ConsumerState];

/** Why a consumer shuts down; it only ever moves to a higher rank (REQUESTED < SHARD_END < LEASE_LOST). */
export const ShutdownReason = { REQUESTED: 'REQUESTED', SHARD_END: 'SHARD_END', LEASE_LOST: 'LEASE_LOST' } as const;
export type ShutdownReason = (typeof ShutdownReason)[keyof typeof ShutdownReason];
export const shutdownRank: Record<ShutdownReason, number> = { REQUESTED: 1, SHARD_END: 2, LEASE_LOST: 3 };

/**
 * Allowed transitions, consulted by ShardConsumer.transition():
 * - WAITING_ON_PARENT_SHARDS: parents done -> INITIALIZING; lease lost or shutdown -> SHUTTING_DOWN.
 * - INITIALIZING: initialize() returned -> PROCESSING; lease lost or shutdown -> SHUTTING_DOWN.
 * - PROCESSING: shutdown requested -> SHUTDOWN_REQUESTED; shard end or lease lost -> SHUTTING_DOWN.
 * - SHUTDOWN_REQUESTED: shutdownRequested() returned (or the lease was lost) -> SHUTTING_DOWN.
 * - SHUTTING_DOWN: leaseLost()/shardEnded() done -> SHUTDOWN_COMPLETE.
 */
export const TRANSITIONS: Readonly<Record<ConsumerState, readonly ConsumerState[]>> = {
  WAITING_ON_PARENT_SHARDS: ['INITIALIZING', 'SHUTTING_DOWN'],
  INITIALIZING: ['PROCESSING', 'SHUTTING_DOWN'],
  PROCESSING: ['SHUTDOWN_REQUESTED', 'SHUTTING_DOWN'],
  SHUTDOWN_REQUESTED: ['SHUTTING_DOWN'],
  SHUTTING_DOWN: ['SHUTDOWN_COMPLETE'],
  SHUTDOWN_COMPLETE: [],
};

export const canTransition = (from: ConsumerState, to: ConsumerState): boolean => TRANSITIONS[from].includes(to);
