import type { UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { sendTo, type DynamoDBCaller } from './dynamodb-caller.ts';
import type { Lease } from '../lease.ts';
import type { CallOptions, LeaseOwnership, LeaseRefresher } from '../lease-refresher.ts';
import { LeaseAttribute, N, S, SS, UpdateBuilder, checkpointUpdate, fromItem, isLeaseItem, toItem, type Item } from './lease-serializer.ts';
import { isConditionalCheckFailed, isThrottle, toKclError } from './dynamodb-errors.ts';
import { sleep } from '../../common/backoff.ts';
import { withDeadline } from '../../common/deadline.ts';
import { compareExtended } from '../../retrieval/extended-sequence-number.ts';
import { InvalidStateException } from '../../errors.ts';

/** Is the item now what my write would have made? Decides a write whose answer was lost. */
type Landed = (now: Lease | undefined) => boolean;

/** Only leases, never the 3.x leader lock, migration state or worker metrics items sharing the table. */
const LEASES_ONLY = {
  FilterExpression: 'attribute_not_exists(#t) OR #t = :lease',
  ExpressionAttributeNames: { '#t': LeaseAttribute.entityType },
  ExpressionAttributeValues: { ':lease': S('LEASE') },
};

/** KCL 3.x's GSI: each worker finds its own leases by owner instead of scanning the table. */
export const LEASE_OWNER_INDEX = 'LeaseOwnerToLeaseKeyIndex';

/** What the table is created with: KCL 3.x mode adds the lease-owner index (Java creates it in 3.x mode too). */
export interface LeaseTableOptions {
  withOwnerIndex?: boolean;
}

/**
 * The lease table in DynamoDB (Java's DynamoDBLeaseRefresher). Every write is conditional, every call
 * has a deadline and the caller's abort signal, and a conditional write that fails or loses its answer
 * is decided by a consistent read: a write that landed is a success, never a lost race (the SDK's retry
 * of a write that landed fails the condition the first attempt already changed).
 */
export class DynamoDBLeaseRefresher implements LeaseRefresher {
  constructor(
    private readonly client: DynamoDBCaller,
    readonly tableName: string,
    private readonly billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED' = 'PAY_PER_REQUEST',
    private readonly requestTimeoutMs = 60000,
  ) {}

  /** One call with this table's deadline and the caller's signal. */
  private call<T>(what: string, options: CallOptions | undefined, send: (o: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
    return withDeadline(`DynamoDB ${what} on table ${this.tableName}`, this.requestTimeoutMs, options?.abortSignal, (abortSignal) => send({ abortSignal }));
  }

  async createLeaseTableIfNotExists(options?: CallOptions, table: LeaseTableOptions = {}): Promise<boolean> {
    if ((await this.tableStatus(options)) !== undefined) return false;
    const provisioned = this.billingMode === 'PROVISIONED' ? { ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 10 } } : {};
    const ownerIndex = {
      AttributeDefinitions: [
        { AttributeName: LeaseAttribute.leaseKey, AttributeType: 'S' as const },
        { AttributeName: LeaseAttribute.leaseOwner, AttributeType: 'S' as const },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: LEASE_OWNER_INDEX,
          KeySchema: [
            { AttributeName: LeaseAttribute.leaseOwner, KeyType: 'HASH' as const },
            { AttributeName: LeaseAttribute.leaseKey, KeyType: 'RANGE' as const },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' as const },
          ...provisioned,
        },
      ],
    };
    try {
      await this.call('CreateTable', options, (o) => sendTo(this.client, 'CreateTable', {
          TableName: this.tableName,
          KeySchema: [{ AttributeName: LeaseAttribute.leaseKey, KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: LeaseAttribute.leaseKey, AttributeType: 'S' }],
          BillingMode: this.billingMode,
          ...provisioned,
          ...(table.withOwnerIndex ? ownerIndex : {}),
        }, o));
      return true;
    } catch (err) {
      if (err instanceof Error && err.name === 'ResourceInUseException') return false; // another worker created it
      throw toKclError(err, `CreateTable ${this.tableName}`);
    }
  }

  /** Whether the KCL 3.x owner index exists and is ACTIVE (3.x discovery reads nothing else). */
  async ownerIndexStatus(options?: CallOptions): Promise<string | undefined> {
    const out = await this.describe(options);
    return out?.GlobalSecondaryIndexes?.find((i) => i.IndexName === LEASE_OWNER_INDEX)?.IndexStatus;
  }

  /**
   * KCL 3.x on a table made by 2.x: adds the owner index (Java createLeaseOwnerToLeaseKeyIndexIfNotExists)
   * and waits until it is ACTIVE, since 3.x discovery reads nothing else.
   */
  async createOwnerIndexIfNotExists(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const options = signal ? { abortSignal: signal } : undefined;
    await this.requestOwnerIndex(options);
    await this.untilActive(() => this.ownerIndexStatus(options), `The ${LEASE_OWNER_INDEX} index of ${this.tableName}`, timeoutMs, signal);
  }

  /** Asks DynamoDB to add the owner index when the table lacks it, without waiting for it to be built. */
  async requestOwnerIndex(options?: CallOptions): Promise<void> {
    if ((await this.ownerIndexStatus(options)) !== undefined) return;
    try {
      await this.call('UpdateTable', options, (o) => sendTo(this.client, 'UpdateTable', {
          TableName: this.tableName,
          AttributeDefinitions: [
            { AttributeName: LeaseAttribute.leaseKey, AttributeType: 'S' },
            { AttributeName: LeaseAttribute.leaseOwner, AttributeType: 'S' },
          ],
          GlobalSecondaryIndexUpdates: [{
            Create: {
              IndexName: LEASE_OWNER_INDEX,
              KeySchema: [
                { AttributeName: LeaseAttribute.leaseOwner, KeyType: 'HASH' },
                { AttributeName: LeaseAttribute.leaseKey, KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'KEYS_ONLY' },
              ...(this.billingMode === 'PROVISIONED' ? { ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 10 } } : {}),
            },
          }],
        }, o));
    } catch (err) {
      if (err instanceof Error && /already exists|ResourceInUse/i.test(`${err.name} ${err.message}`)) return;
      throw new InvalidStateException(
        `Lease table ${this.tableName} has no ${LEASE_OWNER_INDEX} index, which KCL 3.x needs, and adding it failed (${err instanceof Error ? err.message : String(err)}): ` +
          `add the index (hash leaseOwner, range leaseKey, KEYS_ONLY) to the table, or run with clientVersion 'compatible-with-2.x'`,
      );
    }
  }

  private async tableStatus(options?: CallOptions): Promise<string | undefined> {
    return (await this.describe(options))?.TableStatus;
  }

  private async describe(options?: CallOptions) {
    try {
      const out = await this.call('DescribeTable', options, (o) => sendTo(this.client, 'DescribeTable', { TableName: this.tableName }, o));
      return out.Table;
    } catch (err) {
      if (err instanceof Error && err.name === 'ResourceNotFoundException') return undefined;
      throw toKclError(err, `DescribeTable ${this.tableName}`);
    }
  }

  async waitUntilLeaseTableExists(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.untilActive(() => this.tableStatus(signal ? { abortSignal: signal } : undefined), `Lease table ${this.tableName}`, timeoutMs, signal);
  }

  /** Polls a status (50 ms doubling to 1 s) until ACTIVE; past the deadline, names what did not become ACTIVE. */
  private async untilActive(status: () => Promise<string | undefined>, what: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (let delay = 50; (await status()) !== 'ACTIVE'; delay = Math.min(delay * 2, 1000)) {
      if (performance.now() > deadline) throw new InvalidStateException(`${what} did not become ACTIVE within ${timeoutMs} ms`);
      await sleep(delay, signal);
    }
  }

  async listLeases(options?: CallOptions): Promise<Lease[]> {
    const leases: Lease[] = [];
    let start: Item | undefined;
    do {
      try {
        const out = await this.call('Scan', options, (o) => sendTo(this.client, 'Scan', { TableName: this.tableName, ...LEASES_ONLY, ...(start ? { ExclusiveStartKey: start } : {}) }, o));
        for (const item of out.Items ?? []) if (isLeaseItem(item)) leases.push(fromItem(item));
        start = out.LastEvaluatedKey;
      } catch (err) {
        throw toKclError(err, `Scan ${this.tableName}`);
      }
    } while (start);
    return leases;
  }

  async getLease(leaseKey: string, options?: CallOptions): Promise<Lease | undefined> {
    try {
      const out = await this.call('GetItem', options, (o) => sendTo(this.client, 'GetItem', { TableName: this.tableName, Key: this.key(leaseKey), ConsistentRead: true }, o));
      return out.Item && isLeaseItem(out.Item) ? fromItem(out.Item) : undefined;
    } catch (err) {
      throw toKclError(err, `GetItem ${leaseKey}`);
    }
  }

  /**
   * The keys of the leases this owner holds, from the owner index (Java listLeaseKeysForWorker). The
   * index is eventually consistent: read each lease before acting on it.
   */
  async listLeaseKeysForWorker(owner: string, options?: CallOptions): Promise<string[]> {
    const keys: string[] = [];
    let start: Item | undefined;
    do {
      try {
        const out = await this.call('Query', options, (o) => sendTo(this.client, 'Query', {
            TableName: this.tableName,
            IndexName: LEASE_OWNER_INDEX,
            KeyConditionExpression: '#o = :o',
            ExpressionAttributeNames: { '#o': LeaseAttribute.leaseOwner },
            ExpressionAttributeValues: { ':o': S(owner) },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }, o));
        for (const item of out.Items ?? []) {
          const key = item[LeaseAttribute.leaseKey]?.S;
          if (key !== undefined) keys.push(key);
        }
        start = out.LastEvaluatedKey;
      } catch (err) {
        throw toKclError(err, `Query ${LEASE_OWNER_INDEX} on ${this.tableName}`);
      }
    } while (start);
    return keys;
  }

  async createLeaseIfNotExists(lease: Lease, options?: CallOptions): Promise<boolean> {
    const input = {
      TableName: this.tableName,
      Item: toItem(lease),
      ConditionExpression: 'attribute_not_exists(#k)',
      ExpressionAttributeNames: { '#k': LeaseAttribute.leaseKey },
    };
    return this.conditionalWrite(lease.leaseKey, 'CreateLease', options, (o) => sendTo(this.client, 'PutItem', input, o), (now) =>
      now !== undefined && now.leaseCounter === lease.leaseCounter && now.leaseOwner === lease.leaseOwner && sameCheckpoint(now, lease),
    );
  }

  /**
   * Counter + 1 (and the throughput, when known), conditional on counter and owner and on no KCL 3.x
   * handoff pending, or, once this worker knows of the handoff, on still being its checkpoint owner.
   * A handoff the leader started since the last renewal (owner changed, this worker made checkpoint
   * owner, counter untouched) is adopted and the renewal retried: the old owner renews until it has
   * checkpointed and handed the lease over (Java DynamoDBLeaseRefresher.renewLease).
   */
  async renewLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    const holder = lease.checkpointOwner ?? lease.leaseOwner;
    if (await this.renewOnce(lease, options)) return true;
    if (lease.checkpointOwner !== undefined || holder === undefined) return false;
    const now = await this.getLease(lease.leaseKey, options);
    if (now?.leaseOwner === undefined || now.checkpointOwner !== holder || now.leaseOwner === holder || now.leaseCounter !== lease.leaseCounter) return false;
    lease.leaseOwner = now.leaseOwner;
    lease.checkpointOwner = now.checkpointOwner;
    return this.renewOnce(lease, options);
  }

  private async renewOnce(lease: Lease, options?: CallOptions): Promise<boolean> {
    const next = lease.leaseCounter + 1;
    const b = new UpdateBuilder().whenEquals(LeaseAttribute.leaseCounter, N(lease.leaseCounter));
    // Counter and owner: a write of another worker that left the counter where ours expects it still fails.
    if (lease.checkpointOwner === undefined) b.whenOwner(lease.leaseOwner).whenNotExists(LeaseAttribute.checkpointOwner);
    else b.whenEquals(LeaseAttribute.checkpointOwner, S(lease.checkpointOwner));
    b.set(LeaseAttribute.leaseCounter, N(next));
    if (lease.throughputKBps !== undefined) b.set(LeaseAttribute.throughputKBps, N(lease.throughputKBps));
    const landed: Landed = (now) => now?.leaseOwner === lease.leaseOwner && now?.checkpointOwner === lease.checkpointOwner && now?.leaseCounter === next;
    if (!(await this.update(lease.leaseKey, b, options, 'RenewLease', landed))) return false;
    lease.leaseCounter = next;
    return true;
  }

  async takeLease(lease: Lease, owner: string, options?: CallOptions): Promise<boolean> {
    const next = lease.leaseCounter + 1;
    const b = new UpdateBuilder()
      .whenEquals(LeaseAttribute.leaseCounter, N(lease.leaseCounter))
      .set(LeaseAttribute.leaseCounter, N(next))
      .set(LeaseAttribute.leaseOwner, S(owner))
      .remove(LeaseAttribute.checkpointOwner); // a KCL 3.x handoff in progress ends with the take, as in 3.x
    const switched = lease.leaseOwner !== undefined && lease.leaseOwner !== owner;
    if (switched) b.add(LeaseAttribute.ownerSwitchesSinceCheckpoint, N(1));
    if (!(await this.update(lease.leaseKey, b, options, 'TakeLease', (now) => now?.leaseOwner === owner && now.leaseCounter === next))) return false;
    lease.leaseCounter = next;
    lease.leaseOwner = owner;
    if (switched) lease.ownerSwitchesSinceCheckpoint += 1;
    return true;
  }

  /**
   * Gives the lease up: owner removed, counter + 1, conditional on the owner (and checkpoint owner)
   * held. During a KCL 3.x handoff this worker is only the checkpoint owner: removing that is what
   * hands the lease to its new owner at once (Java getDynamoEvictLeaseUpdate).
   */
  async evictLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    const next = lease.leaseCounter + 1;
    const handoff = lease.checkpointOwner !== undefined;
    const b = new UpdateBuilder()
      .whenExists(LeaseAttribute.leaseKey)
      .whenOwner(lease.leaseOwner)
      .whenEquals(LeaseAttribute.leaseCounter, N(lease.leaseCounter)) // never moves the counter back
      .remove(LeaseAttribute.checkpointOwner)
      .set(LeaseAttribute.leaseCounter, N(next));
    if (handoff) b.whenEquals(LeaseAttribute.checkpointOwner, S(lease.checkpointOwner!));
    else b.remove(LeaseAttribute.leaseOwner);
    const owner = handoff ? lease.leaseOwner : undefined;
    if (!(await this.update(lease.leaseKey, b, options, 'EvictLease', (now) => now !== undefined && now.leaseOwner === owner && now.checkpointOwner === undefined && now.leaseCounter === next))) return false;
    lease.leaseCounter = next;
    if (handoff) delete lease.checkpointOwner;
    else delete lease.leaseOwner;
    return true;
  }

  /**
   * A checkpoint: conditional on the counter only, as Java's updateLease. A KCL 3.x handoff changes
   * leaseOwner without moving the counter, so the old owner's checkpoints still land while it hands over.
   */
  async updateLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    const next = lease.leaseCounter + 1;
    const b = new UpdateBuilder()
      .whenEquals(LeaseAttribute.leaseCounter, N(lease.leaseCounter))
      .set(LeaseAttribute.leaseCounter, N(next));
    checkpointUpdate(b, lease);
    // Read back, the write landed only if this worker still holds the lease (as owner, or as checkpoint
    // owner in a handoff): another worker's take can leave the counter at our "next" and the checkpoint as we wrote it.
    const holder = lease.checkpointOwner ?? lease.leaseOwner;
    const stillHeld = (now: Lease): boolean => now.leaseOwner === lease.leaseOwner || (now.checkpointOwner !== undefined && now.checkpointOwner === holder);
    const landed: Landed = (now) => now !== undefined && now.leaseCounter === next && stillHeld(now) && sameCheckpoint(now, lease);
    if (!(await this.update(lease.leaseKey, b, options, 'UpdateLease', landed))) return false;
    lease.leaseCounter = next;
    return true;
  }

  async updateLeaseChildShardIds(leaseKey: string, childShardIds: string[], options?: CallOptions): Promise<boolean> {
    const b = new UpdateBuilder().whenExists(LeaseAttribute.leaseKey).set(LeaseAttribute.childShardIds, SS(childShardIds));
    return this.update(leaseKey, b, options, 'UpdateLeaseWithMetaInfo', (now) => now !== undefined && childShardIds.every((c) => now.childShardIds.includes(c)));
  }

  async deleteLease(leaseKey: string, options?: CallOptions): Promise<void> {
    try {
      await this.call('DeleteItem', options, (o) => sendTo(this.client, 'DeleteItem', { TableName: this.tableName, Key: this.key(leaseKey) }, o));
    } catch (err) {
      throw toKclError(err, `DeleteLease ${leaseKey}`);
    }
  }

  async deleteEndedLease(leaseKey: string, owner: string, options?: CallOptions): Promise<boolean> {
    const input = {
      TableName: this.tableName,
      Key: this.key(leaseKey),
      ConditionExpression: '#o = :o AND #c = :end',
      ExpressionAttributeNames: { '#o': LeaseAttribute.leaseOwner, '#c': LeaseAttribute.checkpoint },
      ExpressionAttributeValues: { ':o': S(owner), ':end': S('SHARD_END') },
    };
    // Gone is what this delete makes, whoever deleted it: a lost answer read back as absent is a success.
    return this.conditionalWrite(leaseKey, 'DeleteLease', options, (o) => sendTo(this.client, 'DeleteItem', input, o), (now) => now === undefined);
  }

  async hasUnownedLeases(options?: CallOptions): Promise<boolean> {
    let start: Item | undefined;
    do {
      try {
        const out = await this.call('Scan', options, (o) => sendTo(this.client, 'Scan', {
            TableName: this.tableName,
            Select: 'COUNT',
            FilterExpression: 'attribute_not_exists(#o) AND (attribute_not_exists(#t) OR #t = :lease)',
            ExpressionAttributeNames: { '#o': LeaseAttribute.leaseOwner, '#t': LeaseAttribute.entityType },
            ExpressionAttributeValues: { ':lease': S('LEASE') },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }, o));
        if ((out.Count ?? 0) > 0) return true;
        start = out.LastEvaluatedKey;
      } catch (err) {
        throw toKclError(err, `Scan ${this.tableName}`);
      }
    } while (start);
    return false;
  }

  /**
   * The owners of these leases, read item by item (BatchGetItem, eventually consistent, owner only):
   * a probe billed per lease read rather than per lease in the table. Leases that are gone are missing.
   */
  async leaseOwners(leaseKeys: readonly string[], options?: CallOptions): Promise<Map<string, LeaseOwnership>> {
    const owners = new Map<string, LeaseOwnership>();
    let pending = leaseKeys.slice(0, 100).map((k) => this.key(k));
    for (let chunk = 0; pending.length > 0; ) {
      const keys = pending;
      try {
        const out = await this.call('BatchGetItem', options, (o) =>
          sendTo(this.client, 'BatchGetItem', {
              RequestItems: {
                [this.tableName]: {
                  Keys: keys,
                  ProjectionExpression: '#k, #o, #c, #r',
                  ExpressionAttributeNames: { '#k': LeaseAttribute.leaseKey, '#o': LeaseAttribute.leaseOwner, '#c': LeaseAttribute.leaseCounter, '#r': LeaseAttribute.releaseSignal },
                },
              },
            }, o),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const owner = item[LeaseAttribute.leaseOwner]?.S;
          owners.set(item[LeaseAttribute.leaseKey]?.S ?? '', {
            ...(owner !== undefined ? { owner } : {}),
            counter: Number(item[LeaseAttribute.leaseCounter]?.N ?? 0),
            releaseSignal: Number(item[LeaseAttribute.releaseSignal]?.N ?? 0),
          });
        }
        const unprocessed = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (unprocessed.length > 0) await sleep(50, options?.abortSignal); // throttled in part: ask again for the rest
        chunk += unprocessed.length > 0 ? 0 : 100;
        pending = unprocessed.length > 0 ? unprocessed : leaseKeys.slice(chunk, chunk + 100).map((k) => this.key(k));
      } catch (err) {
        throw toKclError(err, `BatchGetItem ${this.tableName}`);
      }
    }
    return owners;
  }

  async signalReleases(leaseKey: string, options?: CallOptions): Promise<boolean> {
    const input = this.updateInput(leaseKey, new UpdateBuilder().whenExists(LeaseAttribute.leaseKey).add(LeaseAttribute.releaseSignal, N(1)));
    try {
      await this.call('UpdateItem', options, (o) => sendTo(this.client, 'UpdateItem', input, o));
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw toKclError(err, `SignalReleases ${leaseKey}`);
    }
  }

  private key(leaseKey: string): Item {
    return { [LeaseAttribute.leaseKey]: S(leaseKey) };
  }

  private updateInput(leaseKey: string, b: UpdateBuilder): UpdateItemCommandInput {
    return { TableName: this.tableName, Key: this.key(leaseKey), ...b.build() };
  }

  /** Runs a conditional UpdateItem: true when written, false when the condition failed. */
  private update(leaseKey: string, b: UpdateBuilder, options: CallOptions | undefined, action: string, landed: Landed): Promise<boolean> {
    const input = this.updateInput(leaseKey, b);
    return this.conditionalWrite(leaseKey, action, options, (o) => sendTo(this.client, 'UpdateItem', input, o), landed);
  }

  /**
   * True when the write is in the table, false when another writer won (the condition failed and a
   * consistent read shows the item is not what this write makes). A failure that may have landed (a
   * failed condition after an SDK retry, a reset or timed-out answer) is decided by that read; a
   * throttle was refused, so it is thrown as is. When the read fails too, the outcome is unknown: throw.
   */
  private async conditionalWrite(
    leaseKey: string,
    action: string,
    options: CallOptions | undefined,
    send: (o: { abortSignal: AbortSignal }) => Promise<unknown>,
    landed: Landed,
  ): Promise<boolean> {
    try {
      await this.call(action, options, send);
      return true;
    } catch (err) {
      const conditionFailed = isConditionalCheckFailed(err);
      if ((!conditionFailed && isThrottle(err)) || options?.abortSignal?.aborted) throw toKclError(err, `${action} ${leaseKey}`);
      let now: Lease | undefined;
      try {
        now = await this.getLease(leaseKey, options);
      } catch {
        throw toKclError(err, `${action} ${leaseKey}`);
      }
      if (landed(now)) return true;
      if (conditionFailed) return false;
      throw toKclError(err, `${action} ${leaseKey}`);
    }
  }
}

const sameCheckpoint = (a: Lease, b: Lease): boolean =>
  compareExtended(a.checkpoint, b.checkpoint) === 0 &&
  (a.pendingCheckpoint === undefined) === (b.pendingCheckpoint === undefined) &&
  (a.pendingCheckpoint === undefined || compareExtended(a.pendingCheckpoint, b.pendingCheckpoint!) === 0);
