import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { withDeadline } from '../common/deadline.ts';
import { settleBounded } from '../common/bounded.ts';
import { isConditionalCheckFailed, toKclError } from '../leases/dynamodb/dynamodb-errors.ts';
import { LeaseAttribute, N, S, UpdateBuilder, type Item } from '../leases/dynamodb/lease-serializer.ts';
import type { AssignmentLease } from './in-memory-storage-view.ts';
import { recordAssignmentWrite, type AssignmentMemory, type LeaseAssignmentConfig, type LeaseAssignmentDecisions } from './lease-assignment-decisions.ts';

/** Where the 3.x leader writes: the lease table, with a deadline and the worker's abort signal per call. */
export interface LeaseAssignmentTable {
  client: DynamoDBClient;
  tableName: string;
  requestTimeoutMs: number;
  abortSignal?: AbortSignal;
}

/** The lease's ownership after a successful write (from ReturnValues ALL_NEW), for recordAssignmentWrite. */
export interface WrittenLeaseOwnership {
  leaseKey: string;
  leaseOwner?: string;
  checkpointOwner?: string;
  leaseCounter: number;
  ownerSwitchesSinceCheckpoint: number;
}

/** `attr = :v` when a value is expected, else attribute_not_exists(attr): Java's ExpectedAttributeValue "if exists or value". */
function whenValueOrAbsent(b: UpdateBuilder, attr: LeaseAttribute, value: string | undefined): UpdateBuilder {
  return value === undefined ? b.whenNotExists(attr) : b.whenEquals(attr, S(value));
}

function ownership(leaseKey: string, item: Item | undefined): WrittenLeaseOwnership {
  const out: WrittenLeaseOwnership = {
    leaseKey,
    leaseCounter: Number(item?.[LeaseAttribute.leaseCounter]?.N ?? 0),
    ownerSwitchesSinceCheckpoint: Number(item?.[LeaseAttribute.ownerSwitchesSinceCheckpoint]?.N ?? 0),
  };
  const owner = item?.[LeaseAttribute.leaseOwner]?.S;
  if (owner !== undefined) out.leaseOwner = owner;
  const checkpointOwner = item?.[LeaseAttribute.checkpointOwner]?.S;
  if (checkpointOwner !== undefined) out.checkpointOwner = checkpointOwner;
  return out;
}

async function write(table: LeaseAssignmentTable, what: string, leaseKey: string, b: UpdateBuilder): Promise<WrittenLeaseOwnership | undefined> {
  try {
    const out = await withDeadline(`DynamoDB ${what} on table ${table.tableName}`, table.requestTimeoutMs, table.abortSignal, (abortSignal) =>
      table.client.send(new UpdateItemCommand({ TableName: table.tableName, Key: { [LeaseAttribute.leaseKey]: S(leaseKey) }, ReturnValues: 'ALL_NEW', ...b.build() }), { abortSignal }),
    );
    return ownership(leaseKey, out.Attributes);
  } catch (err) {
    if (isConditionalCheckFailed(err)) return undefined; // the lease moved since the scan: the next run decides again
    throw toKclError(err, `${what} ${leaseKey}`);
  }
}

/**
 * DynamoDBLeaseRefresher.assignLease (3.x leader, and the old owner ending a handoff): leaseOwner :=
 * new, checkpointOwner removed, leaseCounter + 1 (the holder loses the lease on its next renewal);
 * ownerSwitchesSinceCheckpoint + 1 when the owner changes or the lease goes back to its checkpoint
 * owner. Only if leaseOwner and checkpointOwner are still as scanned and the lease still exists.
 * Undefined when the condition failed.
 */
export function assignLease(table: LeaseAssignmentTable, lease: AssignmentLease, newOwner: string): Promise<WrittenLeaseOwnership | undefined> {
  const b = new UpdateBuilder().whenEquals(LeaseAttribute.leaseKey, S(lease.leaseKey));
  whenValueOrAbsent(b, LeaseAttribute.leaseOwner, lease.leaseOwner);
  whenValueOrAbsent(b, LeaseAttribute.checkpointOwner, lease.checkpointOwner);
  b.set(LeaseAttribute.leaseOwner, S(newOwner)).remove(LeaseAttribute.checkpointOwner).add(LeaseAttribute.leaseCounter, N(1));
  const ownerChanges = lease.leaseOwner !== undefined && lease.leaseOwner !== newOwner;
  const backToCheckpointOwner = lease.checkpointOwner !== undefined && lease.checkpointOwner === newOwner;
  if (ownerChanges || backToCheckpointOwner) b.add(LeaseAttribute.ownerSwitchesSinceCheckpoint, N(1));
  return write(table, 'AssignLease', lease.leaseKey, b);
}

/**
 * DynamoDBLeaseRefresher.initiateGracefulLeaseHandoff: leaseOwner := new, checkpointOwner := the
 * old owner, and NO counter bump, so the old owner's renewals go on while it checkpoints. Only if
 * the old owner still holds it, no handoff is pending, and the lease exists.
 */
export function initiateGracefulLeaseHandoff(table: LeaseAssignmentTable, lease: AssignmentLease, newOwner: string): Promise<WrittenLeaseOwnership | undefined> {
  const oldOwner = lease.leaseOwner;
  if (oldOwner === undefined) throw new TypeError(`initiateGracefulLeaseHandoff: lease ${lease.leaseKey} has no owner to hand off from`);
  const b = new UpdateBuilder()
    .whenEquals(LeaseAttribute.leaseOwner, S(oldOwner))
    .whenNotExists(LeaseAttribute.checkpointOwner)
    .whenEquals(LeaseAttribute.leaseKey, S(lease.leaseKey))
    .set(LeaseAttribute.leaseOwner, S(newOwner))
    .set(LeaseAttribute.checkpointOwner, S(oldOwner));
  return write(table, 'InitiateGracefulLeaseHandoff', lease.leaseKey, b);
}

const MAX_WRITES_IN_FLIGHT = 8;

/** What applying one run's decisions did. */
export interface AppliedLeaseAssignments {
  /** The decisions' memory, updated for every write that landed (Java updates its Lease objects). */
  memory: AssignmentMemory;
  written: WrittenLeaseOwnership[];
  /** Refused by their condition (the lease moved since the scan): FailedAssignmentCount. */
  failed: string[];
  /** Calls that threw (deadline, throttling, ...): Java fails the whole run on these. */
  errors: unknown[];
}

/**
 * LeaseAssignmentManager.parallelyAssignLeases: every decision written at once, a graceful handoff
 * or a plain assignment as decided. All writes are attempted even when some throw.
 */
export async function applyLeaseAssignments(
  table: LeaseAssignmentTable,
  decisions: Pick<LeaseAssignmentDecisions, 'assignments' | 'memory'>,
  config: Pick<LeaseAssignmentConfig, 'gracefulLeaseHandoffTimeoutMillis' | 'leaseDurationMillis'>,
  nowNanos: () => number,
): Promise<AppliedLeaseAssignments> {
  // A bounded number in flight (Java: the LAM's thread pool): a fresh table of 1,000 leases is not
  // 1,000 writes at once, nor 1,000 listeners on the worker's abort signal.
  const results = await settleBounded(decisions.assignments, MAX_WRITES_IN_FLIGHT, async (a) => ({
    a,
    written: a.mode === 'gracefulHandoff' ? await initiateGracefulLeaseHandoff(table, a.lease, a.newOwner) : await assignLease(table, a.lease, a.newOwner),
  }));
  const applied: AppliedLeaseAssignments = { memory: decisions.memory, written: [], failed: [], errors: [] };
  for (const r of results) {
    if (r.status === 'rejected') applied.errors.push(r.reason);
    else if (r.value.written === undefined) applied.failed.push(r.value.a.lease.leaseKey);
    else {
      applied.written.push(r.value.written);
      applied.memory = recordAssignmentWrite(applied.memory, r.value.written, r.value.a.mode, config, nowNanos());
    }
  }
  return applied;
}
