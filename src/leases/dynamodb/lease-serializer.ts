import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Lease } from '../lease.ts';
import { esn } from '../../retrieval/extended-sequence-number.ts';

/**
 * The only place that knows the lease table's attribute names and DynamoDB types, exactly as the
 * Java KCL 2.x DynamoDBLeaseSerializer writes them, so Java and ts-kcl workers share one table.
 */
export const LeaseAttribute = {
  leaseKey: 'leaseKey',
  leaseOwner: 'leaseOwner',
  leaseCounter: 'leaseCounter',
  checkpoint: 'checkpoint',
  checkpointSubSequenceNumber: 'checkpointSubSequenceNumber',
  pendingCheckpoint: 'pendingCheckpoint',
  pendingCheckpointSubSequenceNumber: 'pendingCheckpointSubSequenceNumber',
  pendingCheckpointState: 'pendingCheckpointState',
  ownerSwitchesSinceCheckpoint: 'ownerSwitchesSinceCheckpoint',
  parentShardId: 'parentShardId',
  childShardIds: 'childShardIds',
  startingHashKey: 'startingHashKey',
  endingHashKey: 'endingHashKey',
  /** KCL 3.x: which kind of item this is (leases, leader lock, migration state, worker metrics share the table). */
  entityType: 'entityType',
  /** KCL 3.x graceful handoff: the worker that must checkpoint before the new owner starts. */
  checkpointOwner: 'checkpointOwner',
  /** KCL 3.x: the shard's read throughput, written on renew. */
  throughputKBps: 'throughputKBps',
  /** Multi-stream mode: the serialized StreamIdentifier (Java's attribute name, despite what it holds). */
  streamName: 'streamName',
  /** Multi-stream mode: the shard id. */
  shardId: 'shardId',
  /**
   * ts-kcl: a counter on one lease (the lowest key) that a worker bumps after releasing leases, so its
   * peers' probes notice a release by reading one item instead of one per peer. Java ignores it.
   */
  releaseSignal: 'releaseSignal',
} as const;
export type LeaseAttribute = (typeof LeaseAttribute)[keyof typeof LeaseAttribute];

export type Item = Record<string, AttributeValue>;

export const S = (value: string): AttributeValue => ({ S: value });
export const N = (value: number): AttributeValue => ({ N: String(value) });
export const SS = (values: string[]): AttributeValue => ({ SS: values });
export const B = (value: Uint8Array): AttributeValue => ({ B: value });

/** The full item for a new lease (createLeaseIfNotExists). Empty sets are omitted: DynamoDB forbids them. */
export function toItem(lease: Lease): Item {
  const item: Item = {
    [LeaseAttribute.leaseKey]: S(lease.leaseKey),
    [LeaseAttribute.leaseCounter]: N(lease.leaseCounter),
    [LeaseAttribute.checkpoint]: S(lease.checkpoint.sequenceNumber),
    [LeaseAttribute.checkpointSubSequenceNumber]: N(lease.checkpoint.subSequenceNumber),
    [LeaseAttribute.ownerSwitchesSinceCheckpoint]: N(lease.ownerSwitchesSinceCheckpoint),
  };
  if (lease.leaseOwner !== undefined) item[LeaseAttribute.leaseOwner] = S(lease.leaseOwner);
  if (lease.pendingCheckpoint) {
    item[LeaseAttribute.pendingCheckpoint] = S(lease.pendingCheckpoint.sequenceNumber);
    item[LeaseAttribute.pendingCheckpointSubSequenceNumber] = N(lease.pendingCheckpoint.subSequenceNumber);
  }
  if (lease.pendingCheckpointState) item[LeaseAttribute.pendingCheckpointState] = B(lease.pendingCheckpointState);
  if (lease.parentShardIds.length > 0) item[LeaseAttribute.parentShardId] = SS(lease.parentShardIds);
  if (lease.childShardIds.length > 0) item[LeaseAttribute.childShardIds] = SS(lease.childShardIds);
  if (lease.hashKeyRange) {
    item[LeaseAttribute.startingHashKey] = S(lease.hashKeyRange.startingHashKey);
    item[LeaseAttribute.endingHashKey] = S(lease.hashKeyRange.endingHashKey);
  }
  if (lease.streamIdentifier !== undefined) item[LeaseAttribute.streamName] = S(lease.streamIdentifier);
  if (lease.shardId !== undefined) item[LeaseAttribute.shardId] = S(lease.shardId);
  if (lease.checkpointOwner !== undefined) item[LeaseAttribute.checkpointOwner] = S(lease.checkpointOwner);
  if (lease.throughputKBps !== undefined) item[LeaseAttribute.throughputKBps] = N(lease.throughputKBps);
  return item;
}

const str = (item: Item, name: LeaseAttribute): string | undefined => item[name]?.S;
const num = (item: Item, name: LeaseAttribute): number | undefined => {
  const n = item[name]?.N;
  return n === undefined ? undefined : Number(n);
};

/** KCL 3.x writes `entityType: LEASE` on shard leases; items without it are 2.x leases. */
export const LEASE_ENTITY_TYPE = 'LEASE';

/**
 * False for the other items a KCL 3.x application keeps in the lease table (leader lock, migration
 * state, worker metrics): they are never read, counted or deleted as leases.
 */
export function isLeaseItem(item: Item): boolean {
  const type = item[LeaseAttribute.entityType];
  return type === undefined || type.S === LEASE_ENTITY_TYPE;
}

/** Reads an item written by ts-kcl or the Java KCL; unknown attributes (3.x extras) are ignored. */
export function fromItem(item: Item): Lease {
  const leaseKey = str(item, LeaseAttribute.leaseKey);
  if (leaseKey === undefined) throw new TypeError('Lease item has no leaseKey');
  const lease: Lease = {
    leaseKey,
    leaseCounter: num(item, LeaseAttribute.leaseCounter) ?? 0,
    checkpoint: esn(str(item, LeaseAttribute.checkpoint) ?? 'TRIM_HORIZON', num(item, LeaseAttribute.checkpointSubSequenceNumber) ?? 0),
    ownerSwitchesSinceCheckpoint: num(item, LeaseAttribute.ownerSwitchesSinceCheckpoint) ?? 0,
    parentShardIds: item[LeaseAttribute.parentShardId]?.SS ?? [],
    childShardIds: item[LeaseAttribute.childShardIds]?.SS ?? [],
  };
  const owner = str(item, LeaseAttribute.leaseOwner);
  if (owner !== undefined) lease.leaseOwner = owner;
  const pending = str(item, LeaseAttribute.pendingCheckpoint);
  if (pending !== undefined) lease.pendingCheckpoint = esn(pending, num(item, LeaseAttribute.pendingCheckpointSubSequenceNumber) ?? 0);
  const state = item[LeaseAttribute.pendingCheckpointState]?.B;
  if (state !== undefined) lease.pendingCheckpointState = state;
  const start = str(item, LeaseAttribute.startingHashKey);
  const end = str(item, LeaseAttribute.endingHashKey);
  if (start !== undefined && end !== undefined) lease.hashKeyRange = { startingHashKey: start, endingHashKey: end };
  const streamIdentifier = str(item, LeaseAttribute.streamName);
  if (streamIdentifier !== undefined) lease.streamIdentifier = streamIdentifier;
  const shardId = str(item, LeaseAttribute.shardId);
  if (shardId !== undefined) lease.shardId = shardId;
  const checkpointOwner = str(item, LeaseAttribute.checkpointOwner);
  if (checkpointOwner !== undefined) lease.checkpointOwner = checkpointOwner;
  const throughput = num(item, LeaseAttribute.throughputKBps);
  if (throughput !== undefined) lease.throughputKBps = throughput;
  return lease;
}

/**
 * An UpdateItem expression built from attribute names (always through ExpressionAttributeNames,
 * since several are DynamoDB reserved words).
 */
export class UpdateBuilder {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly adds: string[] = [];
  private readonly conditions: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Item = {};
  private n = 0;

  private name(attr: LeaseAttribute): string {
    const ref = `#${attr}`;
    this.names[ref] = attr;
    return ref;
  }
  private value(v: AttributeValue): string {
    const ref = `:v${this.n++}`;
    this.values[ref] = v;
    return ref;
  }
  set(attr: LeaseAttribute, v: AttributeValue): this {
    this.sets.push(`${this.name(attr)} = ${this.value(v)}`);
    return this;
  }
  remove(attr: LeaseAttribute): this {
    this.removes.push(this.name(attr));
    return this;
  }
  add(attr: LeaseAttribute, v: AttributeValue): this {
    this.adds.push(`${this.name(attr)} ${this.value(v)}`);
    return this;
  }
  whenEquals(attr: LeaseAttribute, v: AttributeValue): this {
    this.conditions.push(`${this.name(attr)} = ${this.value(v)}`);
    return this;
  }
  whenExists(attr: LeaseAttribute): this {
    this.conditions.push(`attribute_exists(${this.name(attr)})`);
    return this;
  }
  whenNotExists(attr: LeaseAttribute): this {
    this.conditions.push(`attribute_not_exists(${this.name(attr)})`);
    return this;
  }
  /** `owner = :o` when an owner is expected, else `attribute_not_exists(owner)`. */
  whenOwner(owner: string | undefined): this {
    return owner === undefined ? this.whenNotExists(LeaseAttribute.leaseOwner) : this.whenEquals(LeaseAttribute.leaseOwner, S(owner));
  }

  build(): { UpdateExpression: string; ConditionExpression?: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Item } {
    const parts: string[] = [];
    if (this.sets.length) parts.push(`SET ${this.sets.join(', ')}`);
    if (this.removes.length) parts.push(`REMOVE ${this.removes.join(', ')}`);
    if (this.adds.length) parts.push(`ADD ${this.adds.join(', ')}`);
    return {
      UpdateExpression: parts.join(' '),
      ...(this.conditions.length ? { ConditionExpression: this.conditions.join(' AND ') } : {}),
      ExpressionAttributeNames: this.names,
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/** The attribute writes of a checkpoint update (Java updateLease): pending cleared, owner switches reset. */
export function checkpointUpdate(b: UpdateBuilder, lease: Lease): UpdateBuilder {
  b.set(LeaseAttribute.checkpoint, S(lease.checkpoint.sequenceNumber))
    .set(LeaseAttribute.checkpointSubSequenceNumber, N(lease.checkpoint.subSequenceNumber))
    .set(LeaseAttribute.ownerSwitchesSinceCheckpoint, N(lease.ownerSwitchesSinceCheckpoint));
  if (lease.pendingCheckpoint) {
    b.set(LeaseAttribute.pendingCheckpoint, S(lease.pendingCheckpoint.sequenceNumber)).set(
      LeaseAttribute.pendingCheckpointSubSequenceNumber,
      N(lease.pendingCheckpoint.subSequenceNumber),
    );
  } else {
    b.remove(LeaseAttribute.pendingCheckpoint).remove(LeaseAttribute.pendingCheckpointSubSequenceNumber);
  }
  if (lease.pendingCheckpointState) b.set(LeaseAttribute.pendingCheckpointState, B(lease.pendingCheckpointState));
  else b.remove(LeaseAttribute.pendingCheckpointState);
  if (lease.childShardIds.length > 0) b.set(LeaseAttribute.childShardIds, SS(lease.childShardIds));
  return b;
}
