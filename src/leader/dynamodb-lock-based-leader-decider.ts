import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { errorFields, stderrLogger, type Logger } from '../common/logger.ts';
import { Mutex } from '../common/mutex.ts';
import type { DynamoDBLockClient } from './dynamodb-lock-client.ts';
import { isLockExpired } from './lock-item.ts';

/** The CoordinatorState item the 3.x leader lock lives on (Java LeaderLock.LEADER_HASH_KEY). */
export const LEADER_HASH_KEY = 'Leader';
/** LeaderLock's entityType (EntityType.LEADER_LOCK), written beside the lock attributes. */
export const LEADER_LOCK_ATTRIBUTES: Readonly<Record<string, AttributeValue>> = Object.freeze({ entityType: { S: 'LEADER' } });

/** Java LeaseManagementConfig defaults for the lock-based leader. */
export const DEFAULT_LEADER_LEASE_DURATION_MILLIS = 120_000;
export const DEFAULT_LEADER_HEARTBEAT_PERIOD_MILLIS = 30_000;

/**
 * Java KCL 3.x DynamoDBLockBasedLeaderDecider: the leader is whoever holds the lock on the
 * `Leader` item. A worker that failed to get it does not ask again for a heartbeat period; the
 * holder re-checks its own lock on every call.
 */
export class DynamoDBLockBasedLeaderDecider {
  private lastCheckMillis = Number.NEGATIVE_INFINITY;
  private lastIsLeader = false;
  private shutDown = false;
  private readonly mutex = new Mutex();

  constructor(
    private readonly lockClient: DynamoDBLockClient,
    private readonly heartbeatPeriodMillis: number,
    private readonly logger: Logger = stderrLogger(),
  ) {}

  get workerId(): string {
    return this.lockClient.ownerName;
  }

  /** Starts the lock client's heartbeats (Java: withCreateHeartbeatBackgroundThread(true)). */
  initialize(): void {
    this.lockClient.startHeartbeats();
  }

  isLeader(): Promise<boolean> {
    return this.mutex.run(async () => {
      if (this.shutDown) return false;
      if (!this.lastIsLeader && this.lastCheckMillis + this.heartbeatPeriodMillis > this.lockClient.now()) return false;
      const lock = await this.lockClient.getLock(LEADER_HASH_KEY);
      let leader: boolean;
      // A lock read from the table (not held here) counts as expired: try to acquire, which
      // succeeds only once its version has sat unchanged for a lease duration.
      if (lock === undefined || isLockExpired(lock, this.lockClient.now())) {
        leader = (await this.lockClient.tryAcquireLock(LEADER_HASH_KEY, { ...LEADER_LOCK_ATTRIBUTES })) !== undefined;
      } else {
        leader = lock.ownerName === this.workerId;
      }
      this.lastCheckMillis = this.lockClient.now();
      this.lastIsLeader = leader;
      return leader;
    });
  }

  /** Gives the lock up if this worker holds it (e.g. after repeated assignment failures). */
  releaseLeadershipIfHeld(): Promise<void> {
    return this.mutex.run(() => this.release());
  }

  private async release(): Promise<void> {
    if (!this.lastIsLeader) return; // never held it (or lost it): nothing of ours to release, no read needed
    try {
      const lock = await this.lockClient.getLock(LEADER_HASH_KEY);
      if (lock !== undefined && !isLockExpired(lock, this.lockClient.now()) && lock.ownerName === this.workerId) await this.lockClient.releaseLock(lock);
    } catch (err) {
      // Best effort, as Java: an unreleased lock expires after its lease duration.
      this.logger.warn({ ...errorFields(err), workerId: this.workerId }, 'Could not release the leader lock');
    }
  }

  /** Releases leadership and stops heartbeats; isLeader is false from then on. */
  shutdown(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.shutDown) return;
      this.shutDown = true;
      await this.release();
      await this.lockClient.close();
    });
  }
}
