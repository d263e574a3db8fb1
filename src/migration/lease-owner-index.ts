import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { withDeadline } from '../common/deadline.ts';
import { toKclError } from '../leases/dynamodb/dynamodb-errors.ts';
import type { MigrationStateTable } from './migration-state-dao.ts';

export const LEASE_OWNER_TO_LEASE_KEY_INDEX_NAME = 'LeaseOwnerToLeaseKeyIndex';

/**
 * DynamoDBLeaseRefresher.isLeaseOwnerToLeaseKeyIndexActive: the lease table's GSI on leaseOwner
 * exists and is ACTIVE (false for a missing table, as Java's describeLeaseTable returns null).
 * Creating the index is not this folder's job: the runtime creates it with the 3.x table.
 */
export async function isLeaseOwnerToLeaseKeyIndexActive(table: MigrationStateTable): Promise<boolean> {
  try {
    const out = await withDeadline(`DynamoDB DescribeTable on table ${table.tableName}`, table.requestTimeoutMs, table.signal, (abortSignal) =>
      table.client.send(new DescribeTableCommand({ TableName: table.tableName }), { abortSignal }),
    );
    return (out.Table?.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === LEASE_OWNER_TO_LEASE_KEY_INDEX_NAME && i.IndexStatus === 'ACTIVE');
  } catch (err) {
    if (err instanceof Error && err.name === 'ResourceNotFoundException') return false;
    throw toKclError(err, `DescribeTable ${table.tableName}`);
  }
}
