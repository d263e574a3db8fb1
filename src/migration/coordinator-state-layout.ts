import { sendTo, type DynamoDBCaller } from '../leases/dynamodb/dynamodb-caller.ts';
import { withDeadline } from '../common/deadline.ts';

/** Java TableMigrationState.TABLE_MIGRATION_HASH_KEY: the 3.5 table migration's item. */
export const TABLE_MIGRATION_HASH_KEY = 'TableMigration3.5';

/**
 * Where a KCL 3.x fleet keeps its leader lock, migration state and worker metrics: in the lease table
 * (a new application on 3.5, or after its table migration completed), or in the pre-3.5 tables
 * `<app>-CoordinatorState` and `<app>-WorkerMetricStats` (KCL 3.0 to 3.4, or 3.5 before its table
 * migration reached COMPLETE). ts-kcl speaks only the first.
 */
export type CoordinatorStateLayout = 'leaseTable' | 'legacyTables';

export interface LayoutProbe {
  client: DynamoDBCaller;
  leaseTable: string;
  /** Java CoordinatorConfig's coordinator state table: `<applicationName>-CoordinatorState` by default. */
  coordinatorStateTable: string;
  requestTimeoutMs: number;
  signal: AbortSignal;
}

/**
 * Java TableMigrationStateMachineImpl's starting point: no legacy table means the lease table; a
 * legacy table means the legacy layout until the lease table holds the migration item at COMPLETE.
 */
export async function detectCoordinatorStateLayout(p: LayoutProbe): Promise<CoordinatorStateLayout> {
  const call = <T>(what: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => withDeadline(what, p.requestTimeoutMs, p.signal, send);
  try {
    await call(`DynamoDB DescribeTable on ${p.coordinatorStateTable}`, (abortSignal) => sendTo(p.client, 'DescribeTable', { TableName: p.coordinatorStateTable }, { abortSignal }));
  } catch (err) {
    if (err instanceof Error && err.name === 'ResourceNotFoundException') return 'leaseTable';
    throw err;
  }
  const item = (
    await call(`DynamoDB GetItem on ${p.leaseTable}`, (abortSignal) =>
      sendTo(p.client, 'GetItem', { TableName: p.leaseTable, Key: { leaseKey: { S: TABLE_MIGRATION_HASH_KEY } }, ConsistentRead: true }, { abortSignal }),
    )
  ).Item;
  return item?.tm?.S === 'TABLE_MIGRATION_STATUS_COMPLETE' ? 'leaseTable' : 'legacyTables';
}

/** Why a 3.x worker cannot join a fleet on the legacy layout, and what to do. */
export const legacyLayoutMessage = (leaseTable: string, coordinatorStateTable: string): string =>
  `The KCL 3.x fleet of lease table ${leaseTable} keeps its coordinator state in ${coordinatorStateTable} (KCL 3.0-3.4, or 3.5 before its table migration completed); ` +
  `ts-kcl's 3.x mode speaks only the single-table layout of KCL 3.5, and a second leader lock would split the fleet. ` +
  `Complete the Java fleet's table migration (KCL 3.5 migrateAllEntitiesToLeaseTable) first, or run ts-kcl with clientVersion 'compatible-with-2.x' beside Java workers in CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X`;
