import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { Lease } from '../lease.ts';
import type { CallOptions, LeaseRefresher } from '../lease-refresher.ts';
import { LeaseAttribute, N, S, SS, UpdateBuilder, checkpointUpdate, fromItem, toItem, type Item } from './lease-serializer.ts';
import { isConditionalCheckFailed, toKclError } from './dynamodb-errors.ts';
import { sleep } from '../../common/backoff.ts';
import { InvalidStateException } from '../../errors.ts';

/** The lease table in DynamoDB, every write conditional (Java's DynamoDBLeaseRefresher). */
export class DynamoDBLeaseRefresher implements LeaseRefresher {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    private readonly billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED' = 'PAY_PER_REQUEST',
  ) {}

  async createLeaseTableIfNotExists(): Promise<boolean> {
    if ((await this.tableStatus()) !== undefined) return false;
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.tableName,
          KeySchema: [{ AttributeName: LeaseAttribute.leaseKey, KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: LeaseAttribute.leaseKey, AttributeType: 'S' }],
          BillingMode: this.billingMode,
          ...(this.billingMode === 'PROVISIONED' ? { ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 10 } } : {}),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof Error && err.name === 'ResourceInUseException') return false; // another worker created it
      throw toKclError(err, `CreateTable ${this.tableName}`);
    }
  }

  private async tableStatus(): Promise<string | undefined> {
    try {
      const out = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
      return out.Table?.TableStatus;
    } catch (err) {
      if (err instanceof Error && err.name === 'ResourceNotFoundException') return undefined;
      throw toKclError(err, `DescribeTable ${this.tableName}`);
    }
  }

  async waitUntilLeaseTableExists(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let delay = 50;
    while ((await this.tableStatus()) !== 'ACTIVE') {
      if (performance.now() > deadline) {
        throw new InvalidStateException(`Lease table ${this.tableName} did not become ACTIVE within ${timeoutMs} ms`);
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 1000);
    }
  }

  async listLeases(options?: CallOptions): Promise<Lease[]> {
    const leases: Lease[] = [];
    let start: Item | undefined;
    do {
      try {
        const out = await this.client.send(
          new ScanCommand({ TableName: this.tableName, ...(start ? { ExclusiveStartKey: start } : {}) }),
          options,
        );
        for (const item of out.Items ?? []) leases.push(fromItem(item));
        start = out.LastEvaluatedKey;
      } catch (err) {
        throw toKclError(err, `Scan ${this.tableName}`);
      }
    } while (start);
    return leases;
  }

  async getLease(leaseKey: string, options?: CallOptions): Promise<Lease | undefined> {
    try {
      const out = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key(leaseKey), ConsistentRead: true }),
        options,
      );
      return out.Item ? fromItem(out.Item) : undefined;
    } catch (err) {
      throw toKclError(err, `GetItem ${leaseKey}`);
    }
  }

  async createLeaseIfNotExists(lease: Lease, options?: CallOptions): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(lease),
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': LeaseAttribute.leaseKey },
        }),
        options,
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw toKclError(err, `CreateLease ${lease.leaseKey}`);
    }
  }

  async renewLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    const next = lease.leaseCounter + 1;
    const b = new UpdateBuilder().whenEquals(LeaseAttribute.leaseCounter, N(lease.leaseCounter)).set(LeaseAttribute.leaseCounter, N(next));
    if (await this.update(lease.leaseKey, b, options, 'RenewLease')) {
      lease.leaseCounter = next;
      return true;
    }
    // A timed-out call that did land shows up as our own renewal: count it as success, as Java does.
    const now = await this.getLease(lease.leaseKey, options);
    if (now && now.leaseOwner === lease.leaseOwner && now.leaseCounter === next) {
      lease.leaseCounter = next;
      return true;
    }
    return false;
  }

  async takeLease(lease: Lease, owner: string, options?: CallOptions): Promise<boolean> {
    const next = lease.leaseCounter + 1;
    const b = new UpdateBuilder()
      .whenEquals(LeaseAttribute.leaseCounter, N(lease.leaseCounter))
      .set(LeaseAttribute.leaseCounter, N(next))
      .set(LeaseAttribute.leaseOwner, S(owner));
    const switched = lease.leaseOwner !== undefined && lease.leaseOwner !== owner;
    if (switched) b.add(LeaseAttribute.ownerSwitchesSinceCheckpoint, N(1));
    if (!(await this.update(lease.leaseKey, b, options, 'TakeLease'))) return false;
    lease.leaseCounter = next;
    lease.leaseOwner = owner;
    if (switched) lease.ownerSwitchesSinceCheckpoint += 1;
    return true;
  }

  async evictLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    const next = lease.leaseCounter + 1;
    const b = new UpdateBuilder()
      .whenExists(LeaseAttribute.leaseKey)
      .whenOwner(lease.leaseOwner)
      .remove(LeaseAttribute.leaseOwner)
      .set(LeaseAttribute.leaseCounter, N(next));
    if (!(await this.update(lease.leaseKey, b, options, 'EvictLease'))) return false;
    lease.leaseCounter = next;
    delete lease.leaseOwner;
    return true;
  }

  async updateLease(lease: Lease, options?: CallOptions): Promise<boolean> {
    const next = lease.leaseCounter + 1;
    const b = new UpdateBuilder()
      .whenEquals(LeaseAttribute.leaseCounter, N(lease.leaseCounter))
      .set(LeaseAttribute.leaseCounter, N(next));
    checkpointUpdate(b, lease);
    if (!(await this.update(lease.leaseKey, b, options, 'UpdateLease'))) return false;
    lease.leaseCounter = next;
    return true;
  }

  async updateLeaseChildShardIds(leaseKey: string, childShardIds: string[], options?: CallOptions): Promise<boolean> {
    const b = new UpdateBuilder().whenExists(LeaseAttribute.leaseKey).set(LeaseAttribute.childShardIds, SS(childShardIds));
    return this.update(leaseKey, b, options, 'UpdateLeaseWithMetaInfo');
  }

  async deleteLease(leaseKey: string, options?: CallOptions): Promise<void> {
    try {
      await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: this.key(leaseKey) }), options);
    } catch (err) {
      throw toKclError(err, `DeleteLease ${leaseKey}`);
    }
  }

  async hasUnownedLeases(options?: CallOptions): Promise<boolean> {
    let start: Item | undefined;
    do {
      try {
        const out = await this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            Select: 'COUNT',
            FilterExpression: 'attribute_not_exists(#o)',
            ExpressionAttributeNames: { '#o': LeaseAttribute.leaseOwner },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
          options,
        );
        if ((out.Count ?? 0) > 0) return true;
        start = out.LastEvaluatedKey;
      } catch (err) {
        throw toKclError(err, `Scan ${this.tableName}`);
      }
    } while (start);
    return false;
  }

  private key(leaseKey: string): Item {
    return { [LeaseAttribute.leaseKey]: S(leaseKey) };
  }

  /** Runs a conditional UpdateItem: true when written, false when the condition failed. */
  private async update(leaseKey: string, b: UpdateBuilder, options: CallOptions | undefined, action: string): Promise<boolean> {
    const input: UpdateItemCommandInput = { TableName: this.tableName, Key: this.key(leaseKey), ...b.build() };
    try {
      await this.client.send(new UpdateItemCommand(input), options);
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw toKclError(err, `${action} ${leaseKey}`);
    }
  }
}
