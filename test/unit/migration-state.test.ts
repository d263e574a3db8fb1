import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientVersionForInitialization,
  fromMigrationStateItem,
  initialMigrationState,
  toMigrationStateItem,
  updateMigrationState,
  type ClientVersion,
  type ClientVersionConfig,
} from '../../src/migration/migration-state.ts';

/* Expected values from the Java KCL 3.5.1 MigrationState and MigrationClientVersionStateInitializer. */

describe('Migration3.0 item', () => {
  it('serializes as Java MigrationState (cv, mb, mts, h newest first, entityType) and reads back', () => {
    let state = initialMigrationState('w1', 1000);
    state = updateMigrationState(state, 'CLIENT_VERSION_UPGRADE_FROM_2X', 'w1', 2000);
    state = updateMigrationState(state, 'CLIENT_VERSION_3X_WITH_ROLLBACK', 'w2', 3000);
    const item = toMigrationStateItem(state, 'key');
    assert.deepEqual(item, {
      key: { S: 'Migration3.0' },
      entityType: { S: 'CLIENT_VERSION_MIGRATION' },
      cv: { S: 'CLIENT_VERSION_3X_WITH_ROLLBACK' },
      mb: { S: 'w2' },
      mts: { N: '3000' },
      h: {
        L: [
          { M: { cv: { S: 'CLIENT_VERSION_UPGRADE_FROM_2X' }, mb: { S: 'w1' }, mts: { N: '2000' } } },
          { M: { cv: { S: 'CLIENT_VERSION_INIT' }, mb: { S: 'w1' }, mts: { N: '1000' } } },
        ],
      },
    });
    assert.deepEqual(fromMigrationStateItem(item), state);
    assert.deepEqual(fromMigrationStateItem(toMigrationStateItem(state, 'leaseKey')), state);
    // No history attribute while the history is empty; another key or a bad version is not a migration state.
    assert.equal(toMigrationStateItem(initialMigrationState('w', 1), 'key').h, undefined);
    assert.equal(fromMigrationStateItem({ ...item, key: { S: 'Leader' } }), undefined);
    assert.equal(fromMigrationStateItem({ ...item, cv: { S: 'CLIENT_VERSION_4X' } }), undefined);
  });

  it('keeps the last 10 versions (MAX_HISTORY_ENTRIES)', () => {
    let state = initialMigrationState('w', 0);
    for (let i = 1; i <= 12; i++) state = updateMigrationState(state, i % 2 ? 'CLIENT_VERSION_2X' : 'CLIENT_VERSION_UPGRADE_FROM_2X', `w${i}`, i);
    assert.equal(state.history.length, 10);
    assert.equal(state.history[0]?.lastModifiedBy, 'w11');
  });
});

describe('initial client version', () => {
  const stored = (v: ClientVersion) => ({ ...initialMigrationState('w', 0), clientVersion: v });
  const cases: [ClientVersion, ClientVersionConfig, ClientVersion][] = [
    ['CLIENT_VERSION_INIT', 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1', 'CLIENT_VERSION_INIT'],
    ['CLIENT_VERSION_INIT', 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X', 'CLIENT_VERSION_UPGRADE_FROM_2X'],
    ['CLIENT_VERSION_INIT', 'CLIENT_VERSION_CONFIG_3X', 'CLIENT_VERSION_3X'],
    ['CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_CONFIG_3X', 'CLIENT_VERSION_3X'],
    ['CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK'],
    ['CLIENT_VERSION_2X', 'CLIENT_VERSION_CONFIG_3X', 'CLIENT_VERSION_2X'],
    ['CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_CONFIG_3X', 'CLIENT_VERSION_UPGRADE_FROM_2X'],
    ['CLIENT_VERSION_3X', 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X', 'CLIENT_VERSION_3X'],
  ];
  for (const [inTable, config, expected] of cases) {
    it(`${inTable} in the table, ${config} configured -> ${expected}`, () => {
      assert.equal(clientVersionForInitialization(stored(inTable), config), expected);
    });
  }
});
