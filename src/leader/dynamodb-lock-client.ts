import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { withDeadline } from '../common/deadline.ts';
import { errorFields, stderrLogger, type Logger } from '../common/logger.ts';
import { Mutex } from '../common/mutex.ts';
import { IS_RELEASED_VALUE, isLockExpired, LOCK_ATTRIBUTES as A, type LockItem } from './lock-item.ts';

export interface DynamoDBLockClientOptions {
  client: DynamoDBClient;
  tableName: string;
  /** `key` in the CoordinatorState table, `leaseKey` in the lease table after the 3.5 migration. */
  partitionKeyName: string;
  ownerName: string;
  leaseDurationMillis: number;
  heartbeatPeriodMillis: number;
  requestTimeoutMillis?: number;
  /** The worker's abort signal: aborts calls in flight and stops the heartbeats. */
  signal?: AbortSignal;
  /** Monotonic milliseconds (the lock client's LockClientUtils.millisecondTime). */
  clock?: () => number;
  newRecordVersionNumber?: () => string;
  logger?: Logger;
}

/** What the lock client remembers of a lock someone else holds: the version seen and when. */
interface LockObservation {
  recordVersionNumber: string;
  lookupTimeMillis: number;
  leaseDurationMillis: number;
}

const monotonicMillis = (): number => performance.now();
const isConditionalFailure = (err: unknown): boolean => err instanceof ConditionalCheckFailedException || (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

/**
 * The DynamoDB lock client's protocol, as the Java KCL 3.x leader uses it (tryAcquireLock with
 * shouldSkipBlockingWait, heartbeats from a background loop, release on shutdown): every write is
 * conditional on the record version number, and a lock held by someone else is taken over only
 * after this client has seen the same version for a full lease duration. Clocks are never compared
 * across hosts.
 */
export class DynamoDBLockClient {
  private readonly locks = new Map<string, LockItem>();
  private readonly notMyLocks = new Map<string, LockObservation>();
  /** Java's synchronized (lockItem): a heartbeat and a release of one lock never interleave. */
  private readonly lockMutexes = new WeakMap<LockItem, Mutex>();
  private readonly clock: () => number;
  private readonly newRvn: () => string;
  private readonly logger: Logger;
  private readonly timeout: number;
  private readonly stopping = new AbortController();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatsOn = false;
  private heartbeating: Promise<void> | undefined;

  constructor(private readonly options: DynamoDBLockClientOptions) {
    this.clock = options.clock ?? monotonicMillis;
    this.newRvn = options.newRecordVersionNumber ?? randomUUID;
    this.logger = options.logger ?? stderrLogger();
    this.timeout = options.requestTimeoutMillis ?? 60000;
    const { signal } = options;
    if (signal?.aborted) this.stopping.abort(signal.reason);
    else signal?.addEventListener('abort', () => {
      this.heartbeatsOn = false;
      clearTimeout(this.heartbeatTimer);
      this.stopping.abort(signal.reason);
    }, { once: true });
  }

  get ownerName(): string {
    return this.options.ownerName;
  }

  now(): number {
    return this.clock();
  }

  private send<T>(what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withDeadline(`lock client ${what}`, this.timeout, this.stopping.signal, call);
  }

  private key(partitionKey: string): Record<string, AttributeValue> {
    return { [this.options.partitionKeyName]: { S: partitionKey } };
  }

  /** The lock this client holds, else the stored one (with no version and lookupTime 0: it cannot be written through), else undefined (absent or released). */
  async getLock(partitionKey: string): Promise<LockItem | undefined> {
    const local = this.locks.get(partitionKey);
    if (local !== undefined) return local;
    const stored = await this.getLockFromDynamoDB(partitionKey, false);
    if (stored === undefined || stored.isReleased) return undefined;
    stored.recordVersionNumber = '';
    stored.lookupTimeMillis = 0;
    return stored;
  }

  /** A consistent read of the lock item, stamped with the local time of the read. */
  async getLockFromDynamoDB(partitionKey: string, deleteLockOnRelease: boolean): Promise<LockItem | undefined> {
    const { client, tableName } = this.options;
    const out = await this.send('GetItem', (abortSignal) => client.send(new GetItemCommand({ TableName: tableName, Key: this.key(partitionKey), ConsistentRead: true }), { abortSignal }));
    const item = out.Item;
    if (item === undefined || Object.keys(item).length === 0) return undefined;
    const { [A.ownerName]: owner, [A.leaseDuration]: duration, [A.recordVersionNumber]: rvn, [A.isReleased]: released, [A.data]: _data, [this.options.partitionKeyName]: _key, ...rest } = item;
    return {
      partitionKey,
      ownerName: owner?.S ?? '',
      leaseDurationMillis: Number.parseInt(duration?.S ?? '0', 10),
      recordVersionNumber: rvn?.S ?? '',
      lookupTimeMillis: this.clock(),
      isReleased: released !== undefined,
      deleteLockOnRelease,
      additionalAttributes: rest,
    };
  }

  /**
   * AcquireLockOptions.withShouldSkipBlockingWait(true): take the lock if it is absent, released,
   * or held by a version this client has watched unchanged for its lease duration; otherwise (or
   * when someone else wins the conditional write) undefined at once.
   */
  async tryAcquireLock(partitionKey: string, additionalAttributes: Record<string, AttributeValue> = {}, deleteLockOnRelease = true): Promise<LockItem | undefined> {
    try {
      const existing = await this.getLockFromDynamoDB(partitionKey, deleteLockOnRelease);
      if (existing !== undefined && !existing.isReleased && !this.observedLockIsExpired(existing)) return undefined;
      const rvn = this.newRvn();
      const item: Record<string, AttributeValue> = {
        ...additionalAttributes,
        [this.options.partitionKeyName]: { S: partitionKey },
        [A.ownerName]: { S: this.options.ownerName },
        [A.leaseDuration]: { S: String(this.options.leaseDurationMillis) },
        [A.recordVersionNumber]: { S: rvn },
      };
      const names: Record<string, string> = { '#pk': this.options.partitionKeyName };
      let condition = 'attribute_not_exists(#pk)';
      let values: Record<string, AttributeValue> | undefined;
      if (existing?.isReleased === true) {
        condition = 'attribute_exists(#pk) AND #ir = :ir';
        names['#ir'] = A.isReleased;
        values = { ':ir': { S: IS_RELEASED_VALUE } };
      } else if (existing !== undefined) {
        // Expired: overwrite only the very version we watched expire.
        condition = 'attribute_exists(#pk) AND #rvn = :rvn';
        names['#rvn'] = A.recordVersionNumber;
        values = { ':rvn': { S: existing.recordVersionNumber } };
      }
      const writtenAt = this.clock();
      const { client, tableName } = this.options;
      await this.send('PutItem', (abortSignal) =>
        client.send(new PutItemCommand({ TableName: tableName, Item: item, ConditionExpression: condition, ExpressionAttributeNames: names, ...(values ? { ExpressionAttributeValues: values } : {}) }), { abortSignal }),
      );
      const lock: LockItem = { partitionKey, ownerName: this.options.ownerName, leaseDurationMillis: this.options.leaseDurationMillis, recordVersionNumber: rvn, lookupTimeMillis: writtenAt, isReleased: false, deleteLockOnRelease, additionalAttributes };
      this.locks.set(partitionKey, lock);
      this.notMyLocks.delete(partitionKey);
      return lock;
    } catch (err) {
      if (!isConditionalFailure(err)) this.logger.warn({ ...errorFields(err), partitionKey }, 'Could not acquire the lock; will try again');
      return undefined;
    }
  }

  /** The first sighting of a version starts its clock; the same version seen a lease duration later is expired. */
  private observedLockIsExpired(lock: LockItem): boolean {
    const seen = this.notMyLocks.get(lock.partitionKey);
    if (seen !== undefined && seen.recordVersionNumber === lock.recordVersionNumber) return this.clock() - seen.lookupTimeMillis > seen.leaseDurationMillis;
    this.notMyLocks.set(lock.partitionKey, { recordVersionNumber: lock.recordVersionNumber, lookupTimeMillis: lock.lookupTimeMillis, leaseDurationMillis: lock.leaseDurationMillis });
    return false;
  }

  private exclusive<T>(lock: LockItem, section: () => Promise<T>): Promise<T> {
    let mutex = this.lockMutexes.get(lock);
    if (mutex === undefined) this.lockMutexes.set(lock, (mutex = new Mutex()));
    return mutex.run(section);
  }

  /** Renews a held lock: new version and lease duration, conditional on owner and the version we hold. Throws LockNotGrantedError when it is no longer ours. */
  sendHeartbeat(lock: LockItem): Promise<void> {
    if (isLockExpired(lock, this.clock()) || lock.ownerName !== this.options.ownerName) {
      this.locks.delete(lock.partitionKey);
      return Promise.reject(new LockNotGrantedError('Cannot send heartbeat because lock is not granted'));
    }
    return this.exclusive(lock, () => this.heartbeat(lock));
  }

  private async heartbeat(lock: LockItem): Promise<void> {
    // Released while this heartbeat waited for the release to finish: nothing to renew.
    if (this.locks.get(lock.partitionKey) !== lock) throw new LockNotGrantedError('Cannot send heartbeat because lock was released');
    const rvn = this.newRvn();
    const { client, tableName } = this.options;
    const sentAt = this.clock();
    try {
      await this.send('UpdateItem', (abortSignal) =>
        client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: this.key(lock.partitionKey),
            UpdateExpression: 'SET #ld = :ld, #rvn = :newRvn',
            ConditionExpression: 'attribute_exists(#pk) AND #rvn = :rvn AND #on = :on',
            ExpressionAttributeNames: { '#pk': this.options.partitionKeyName, '#ld': A.leaseDuration, '#rvn': A.recordVersionNumber, '#on': A.ownerName },
            ExpressionAttributeValues: { ':ld': { S: String(this.options.leaseDurationMillis) }, ':newRvn': { S: rvn }, ':rvn': { S: lock.recordVersionNumber }, ':on': { S: lock.ownerName } },
          }),
          { abortSignal },
        ),
      );
    } catch (err) {
      if (!isConditionalFailure(err)) throw err;
      this.locks.delete(lock.partitionKey);
      throw new LockNotGrantedError('Someone else acquired the lock, so we will stop heartbeating it', { cause: err });
    }
    lock.recordVersionNumber = rvn;
    lock.lookupTimeMillis = sentAt;
  }

  /** Gives a held lock up: DeleteItem (or marks it released), conditional on owner and version. False if it was no longer ours. */
  async releaseLock(lock: LockItem): Promise<boolean> {
    if (lock.ownerName !== this.options.ownerName) return false;
    return this.exclusive(lock, () => this.release(lock));
  }

  private async release(lock: LockItem): Promise<boolean> {
    this.locks.delete(lock.partitionKey);
    const names = { '#pk': this.options.partitionKeyName, '#on': A.ownerName, '#rvn': A.recordVersionNumber };
    const values: Record<string, AttributeValue> = { ':rvn': { S: lock.recordVersionNumber }, ':on': { S: lock.ownerName } };
    const condition = 'attribute_exists(#pk) AND #rvn = :rvn AND #on = :on';
    const { client, tableName } = this.options;
    try {
      if (lock.deleteLockOnRelease) {
        await this.send('DeleteItem', (abortSignal) =>
          client.send(new DeleteItemCommand({ TableName: tableName, Key: this.key(lock.partitionKey), ConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values }), { abortSignal }),
        );
      } else {
        await this.send('UpdateItem', (abortSignal) =>
          client.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key: this.key(lock.partitionKey),
              UpdateExpression: 'SET #ir = :ir',
              ConditionExpression: condition,
              ExpressionAttributeNames: { ...names, '#ir': A.isReleased },
              ExpressionAttributeValues: { ...values, ':ir': { S: IS_RELEASED_VALUE } },
            }),
            { abortSignal },
          ),
        );
      }
      return true;
    } catch (err) {
      if (isConditionalFailure(err)) return false;
      throw err;
    }
  }

  /** The background heartbeat loop: every heartbeatPeriod, each held lock; failures are logged, a lost lock is dropped. */
  startHeartbeats(): void {
    if (this.heartbeatsOn || this.stopping.signal.aborted) return;
    this.heartbeatsOn = true;
    const beat = async (): Promise<void> => {
      const began = this.clock();
      for (const lock of [...this.locks.values()]) {
        try {
          await this.sendHeartbeat(lock);
        } catch (err) {
          if (err instanceof LockNotGrantedError) this.logger.debug?.({ partitionKey: lock.partitionKey }, err.message);
          else this.logger.warn({ ...errorFields(err), partitionKey: lock.partitionKey }, 'Heartbeat of the lock failed; will retry');
        }
      }
      if (!this.heartbeatsOn) return;
      this.heartbeatTimer = setTimeout(run, Math.max(this.options.heartbeatPeriodMillis - (this.clock() - began), 0)).unref();
    };
    const run = (): void => {
      this.heartbeating = beat();
    };
    this.heartbeatTimer = setTimeout(run, this.options.heartbeatPeriodMillis).unref();
  }

  /** Stops heartbeating without releasing anything (a crash, as far as other contenders can tell). */
  async stopHeartbeats(): Promise<void> {
    this.heartbeatsOn = false;
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    await this.heartbeating;
  }

  /** Releases every held lock, then stops the heartbeats and any call in flight. */
  async close(): Promise<void> {
    await this.stopHeartbeats();
    for (const lock of [...this.locks.values()]) {
      try {
        await this.releaseLock(lock);
      } catch (err) {
        this.logger.warn({ ...errorFields(err), partitionKey: lock.partitionKey }, 'Could not release the lock on close');
      }
    }
    this.stopping.abort(new Error('lock client closed'));
  }
}

export class LockNotGrantedError extends Error {
  override readonly name = 'LockNotGrantedError';
}
