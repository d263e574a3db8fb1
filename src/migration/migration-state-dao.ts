import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { sendTo, type DynamoDBCaller } from '../leases/dynamodb/dynamodb-caller.ts';
import { withDeadline } from '../common/deadline.ts';
import { InvalidStateException } from '../errors.ts';
import { isConditionalCheckFailed, isThrottle, toKclError } from '../leases/dynamodb/dynamodb-errors.ts';
import { fromMigrationStateItem, MIGRATION_HASH_KEY, toMigrationStateItem, type ClientVersion, type MigrationState } from './migration-state.ts';

/** The lease table's key attribute: Java 3.5 keeps the Migration3.0 item in the lease table (LeaseTableCoordinatorStateDAODelegate). */
const KEY = 'leaseKey';

export interface MigrationStateTable {
  client: DynamoDBCaller;
  tableName: string;
  requestTimeoutMs: number;
  signal: AbortSignal;
}

const sameWrite = (a: MigrationState | undefined, b: MigrationState): boolean =>
  a !== undefined && a.clientVersion === b.clientVersion && a.modifiedBy === b.modifiedBy && a.modifiedTimestamp === b.modifiedTimestamp;

/**
 * The `Migration3.0` item in the lease table, written as Java's CoordinatorStateDAO writes it:
 * created only if absent, updated only while the stored client version is the one this worker read
 * (MigrationState.getDynamoClientVersionExpectation). Every call has a deadline and the worker's
 * signal; a conditional write that failed or lost its answer is decided by a consistent re-read
 * (the SDK's retry of a write that landed fails the condition the first attempt changed).
 * The pre-3.5 `<app>-CoordinatorState` table is not read (out of scope).
 */
export class MigrationStateDao {
  constructor(private readonly table: MigrationStateTable) {}

  private send<T>(what: string, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const { tableName, requestTimeoutMs, signal } = this.table;
    return withDeadline(`DynamoDB ${what} (migration state) on table ${tableName}`, requestTimeoutMs, signal, call);
  }

  /** Consistent read; undefined when there is no item. An item that is not a MigrationState is an InvalidStateException (Java's initializer refuses it too). */
  async get(): Promise<MigrationState | undefined> {
    const { client, tableName } = this.table;
    let item: Record<string, AttributeValue> | undefined;
    try {
      item = (await this.send('GetItem', (abortSignal) => sendTo(client, 'GetItem', { TableName: tableName, Key: { [KEY]: { S: MIGRATION_HASH_KEY } }, ConsistentRead: true }, { abortSignal }))).Item;
    } catch (err) {
      throw toKclError(err, `GetItem ${MIGRATION_HASH_KEY}`);
    }
    if (item === undefined) return undefined;
    const state = fromMigrationStateItem(item);
    if (state === undefined) throw new InvalidStateException(`The ${MIGRATION_HASH_KEY} item in ${tableName} is not a migration state: ${JSON.stringify(item)}`);
    return state;
  }

  /** createCoordinatorStateIfNotExists: PutItem on `attribute_not_exists(leaseKey)`; false when someone else's item is there. */
  createIfNotExists(state: MigrationState): Promise<boolean> {
    const { client, tableName } = this.table;
    const input = { TableName: tableName, Item: toMigrationStateItem(state, KEY), ConditionExpression: 'attribute_not_exists(#k)', ExpressionAttributeNames: { '#k': KEY } };
    return this.conditionalWrite('PutItem', state, (abortSignal) => sendTo(client, 'PutItem', input, { abortSignal }));
  }

  /**
   * updateCoordinatorStateWithExpectation: PUTs cv, mb, mts and (when not empty) h, on condition the
   * item exists and its cv is `expected`; false when another writer changed the version first.
   */
  updateIfClientVersion(state: MigrationState, expected: ClientVersion): Promise<boolean> {
    const { client, tableName } = this.table;
    const item = toMigrationStateItem(state, KEY);
    const names: Record<string, string> = { '#k': KEY, '#cv': 'cv', '#mb': 'mb', '#mts': 'mts' };
    const values: Record<string, AttributeValue> = { ':k': { S: MIGRATION_HASH_KEY }, ':expected': { S: expected }, ':cv': item.cv!, ':mb': item.mb!, ':mts': item.mts! };
    const sets = ['#cv = :cv', '#mb = :mb', '#mts = :mts'];
    if (item.h !== undefined) {
      names['#h'] = 'h';
      values[':h'] = item.h;
      sets.push('#h = :h');
    }
    const input = {
      TableName: tableName,
      Key: { [KEY]: { S: MIGRATION_HASH_KEY } },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: '#k = :k AND #cv = :expected',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    return this.conditionalWrite('UpdateItem', state, (abortSignal) => sendTo(client, 'UpdateItem', input, { abortSignal }));
  }

  private async conditionalWrite(action: string, written: MigrationState, call: (abortSignal: AbortSignal) => Promise<unknown>): Promise<boolean> {
    try {
      await this.send(action, call);
      return true;
    } catch (err) {
      const conditionFailed = isConditionalCheckFailed(err);
      if ((!conditionFailed && isThrottle(err)) || this.table.signal.aborted) throw toKclError(err, `${action} ${MIGRATION_HASH_KEY}`);
      let now: MigrationState | undefined;
      try {
        now = await this.get();
      } catch {
        throw toKclError(err, `${action} ${MIGRATION_HASH_KEY}`);
      }
      if (sameWrite(now, written)) return true;
      if (conditionFailed) return false;
      throw toKclError(err, `${action} ${MIGRATION_HASH_KEY}`);
    }
  }
}
