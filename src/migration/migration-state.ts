import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The `Migration3.0` CoordinatorState item through which a fleet moves from KCL 2.x to 3.x (Java
 * coordinator/migration/MigrationState and MigrationClientVersionStateInitializer): the client
 * version the fleet runs, who set it and when, and the last 10 versions before it.
 */
export type ClientVersion = 'CLIENT_VERSION_INIT' | 'CLIENT_VERSION_UPGRADE_FROM_2X' | 'CLIENT_VERSION_2X' | 'CLIENT_VERSION_3X_WITH_ROLLBACK' | 'CLIENT_VERSION_3X';
/** CoordinatorConfig.ClientVersionConfig: what the application asks for. */
export type ClientVersionConfig = 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1' | 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X' | 'CLIENT_VERSION_CONFIG_3X';

const CLIENT_VERSIONS: readonly ClientVersion[] = ['CLIENT_VERSION_INIT', 'CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_3X'];
const isClientVersion = (s: string | undefined): s is ClientVersion => CLIENT_VERSIONS.includes(s as ClientVersion);

export const MIGRATION_HASH_KEY = 'Migration3.0';
export const MIGRATION_ENTITY_TYPE = 'CLIENT_VERSION_MIGRATION';
const MAX_HISTORY_ENTRIES = 10;

export interface MigrationHistoryEntry {
  lastClientVersion: ClientVersion;
  lastModifiedBy: string;
  lastModifiedTimestamp: number;
}

export interface MigrationState {
  clientVersion: ClientVersion;
  modifiedBy: string;
  /** Epoch milliseconds. */
  modifiedTimestamp: number;
  /** Newest first. */
  history: MigrationHistoryEntry[];
}

/** What a worker assumes when the table holds no migration item yet. */
export const initialMigrationState = (workerId: string, nowMillis: number): MigrationState => ({ clientVersion: 'CLIENT_VERSION_INIT', modifiedBy: workerId, modifiedTimestamp: nowMillis, history: [] });

/** MigrationState.update: the current version goes to the front of the history (10 kept). */
export function updateMigrationState(state: MigrationState, clientVersion: ClientVersion, modifiedBy: string, nowMillis: number): MigrationState {
  const history = [{ lastClientVersion: state.clientVersion, lastModifiedBy: state.modifiedBy, lastModifiedTimestamp: state.modifiedTimestamp }, ...state.history].slice(0, MAX_HISTORY_ENTRIES);
  return { clientVersion, modifiedBy, modifiedTimestamp: nowMillis, history };
}

const versionFields = (v: ClientVersion, by: string, ts: number): Record<string, AttributeValue> => ({ cv: { S: v }, mb: { S: by }, mts: { N: String(ts) } });

/** MigrationState.serialize plus the key the DAO adds (`key` in CoordinatorState, `leaseKey` in the 3.5 lease table). */
export function toMigrationStateItem(state: MigrationState, partitionKeyName: 'key' | 'leaseKey'): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    [partitionKeyName]: { S: MIGRATION_HASH_KEY },
    entityType: { S: MIGRATION_ENTITY_TYPE },
    ...versionFields(state.clientVersion, state.modifiedBy, state.modifiedTimestamp),
  };
  if (state.history.length > 0) item.h = { L: state.history.map((e) => ({ M: versionFields(e.lastClientVersion, e.lastModifiedBy, e.lastModifiedTimestamp) })) };
  return item;
}

/** MigrationState.deserialize: undefined for another item or one that does not parse (Java logs and returns null). */
export function fromMigrationStateItem(item: Record<string, AttributeValue>): MigrationState | undefined {
  if ((item.key?.S ?? item.leaseKey?.S) !== MIGRATION_HASH_KEY) return undefined;
  const cv = item.cv?.S;
  const mb = item.mb?.S;
  const mts = item.mts?.N;
  if (!isClientVersion(cv) || mb === undefined || mts === undefined) return undefined;
  const history: MigrationHistoryEntry[] = [];
  for (const entry of item.h?.L ?? []) {
    const m = entry.M ?? {};
    const v = m.cv?.S;
    if (!isClientVersion(v) || m.mb?.S === undefined || m.mts?.N === undefined) return undefined;
    history.push({ lastClientVersion: v, lastModifiedBy: m.mb.S, lastModifiedTimestamp: Number(m.mts.N) });
  }
  return { clientVersion: cv, modifiedBy: mb, modifiedTimestamp: Number(mts), history };
}

/**
 * MigrationClientVersionStateInitializer.getClientVersionForInitialization: with no item yet the
 * configuration decides; a fleet in 3X_WITH_ROLLBACK moves to 3X once it is configured for 3.x;
 * every other stored version is kept (the fleet's state wins over this worker's configuration).
 */
export function clientVersionForInitialization(stored: MigrationState, config: ClientVersionConfig): ClientVersion {
  switch (stored.clientVersion) {
    case 'CLIENT_VERSION_INIT':
      switch (config) {
        case 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1':
          return 'CLIENT_VERSION_INIT'; // 2.x-compatible, migration not started
        case 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X':
          return 'CLIENT_VERSION_UPGRADE_FROM_2X';
        case 'CLIENT_VERSION_CONFIG_3X':
          return 'CLIENT_VERSION_3X';
      }
      break;
    case 'CLIENT_VERSION_3X_WITH_ROLLBACK':
      return config === 'CLIENT_VERSION_CONFIG_3X' ? 'CLIENT_VERSION_3X' : stored.clientVersion;
    case 'CLIENT_VERSION_2X':
    case 'CLIENT_VERSION_UPGRADE_FROM_2X':
    case 'CLIENT_VERSION_3X':
      return stored.clientVersion;
  }
  throw new TypeError(`Unknown configured client version ${String(config)}`);
}
