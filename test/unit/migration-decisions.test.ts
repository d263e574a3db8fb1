import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { behaviourOf, clientVersionConfigOf, followClientVersionChange, monitorsClientVersion } from '../../src/migration/client-version-behaviour.ts';
import {
  initialStabilizer,
  isReadyForUpgradeTo3x,
  isWorkerMetricStatsActive,
  leaseOwnersEmitWorkerMetrics,
  MIGRATION_MONITOR_INTERVAL_MS,
  MIGRATION_READY_STABILITY_MS,
  resetStabilizer,
  stabilize,
  WORKER_METRICS_EXPIRY_MS,
} from '../../src/migration/migration-readiness.ts';
import type { ClientVersion } from '../../src/migration/migration-state.ts';

/* Every expected value is traced to the Java KCL 3.5.1 source (coordinator/migration and
 * coordinator/DynamicMigrationComponentsInitializer) in the comment beside it. */

describe('what each client version means for a worker', () => {
  it('matches DynamicMigrationComponentsInitializer and the states\' monitors', () => {
    // initializeClientVersionForPhase1: DEFAULT_LEASE_COUNT_BASED_ASSIGNMENT, deterministic leader, createLamAndStartMetrics=false; InitState starts no monitor.
    // Java's Phase 1 starts no monitor; ts-kcl's passive default follows a migration someone else starts.
    assert.deepEqual(behaviourOf('CLIENT_VERSION_INIT'), {
      leaseAssignmentMode: '2.x',
      leaseAssignmentManager: false,
      workerMetricsReporting: false,
      leaderDecider: '2.x',
      followsTo: ['CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_3X'],
      migrationReadyMonitor: false,
    });
    // initializeClientVersionForUpgradeFrom2x: lease-count assignment, deterministic leader, startWorkerMetricsReporting(), "LAM is not started until the dynamic flip";
    // UpgradeFrom2xState.doEnter starts MigrationReadyMonitor and a ClientVersionChangeMonitor whose callback accepts 2X and 3X_WITH_ROLLBACK.
    assert.deepEqual(behaviourOf('CLIENT_VERSION_UPGRADE_FROM_2X'), {
      leaseAssignmentMode: '2.x',
      leaseAssignmentManager: false,
      workerMetricsReporting: true,
      leaderDecider: '2.x',
      followsTo: ['CLIENT_VERSION_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK'],
      migrationReadyMonitor: true,
    });
    // initializeClientVersionFor2x: stopWorkerMetricsReporter() (dynamic rollback), LAM stopped, deterministic leader; the roll-forward monitor accepts UPGRADE_FROM_2X only.
    assert.deepEqual(behaviourOf('CLIENT_VERSION_2X'), { leaseAssignmentMode: '2.x', leaseAssignmentManager: false, workerMetricsReporting: false, leaderDecider: '2.x', followsTo: ['CLIENT_VERSION_UPGRADE_FROM_2X'], migrationReadyMonitor: false });
    // initializeClientVersionFor3xWithRollback: WORKER_UTILIZATION_AWARE_ASSIGNMENT, DynamoDBLockBasedLeaderDecider, leaseAssignmentManager.start(); rollback monitor accepts 2X and 3X.
    assert.deepEqual(behaviourOf('CLIENT_VERSION_3X_WITH_ROLLBACK'), {
      leaseAssignmentMode: '3.x',
      leaseAssignmentManager: true,
      workerMetricsReporting: true,
      leaderDecider: '3.x',
      followsTo: ['CLIENT_VERSION_2X', 'CLIENT_VERSION_3X'],
      migrationReadyMonitor: false,
    });
    // initializeClientVersionFor3x: the same components; MigrationStateMachineImpl terminates on 3X (no monitor).
    assert.deepEqual(behaviourOf('CLIENT_VERSION_3X'), { leaseAssignmentMode: '3.x', leaseAssignmentManager: true, workerMetricsReporting: true, leaderDecider: '3.x', followsTo: [], migrationReadyMonitor: false });
    // Java's ClientVersionChangeMonitor runs only in the last three (emitMetrics throws for any other);
    // ts-kcl also runs it in the passive INIT, to join a migration another worker starts.
    const monitored = (['CLIENT_VERSION_INIT', 'CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_3X'] as ClientVersion[]).filter(monitorsClientVersion);
    assert.deepEqual(monitored, ['CLIENT_VERSION_INIT', 'CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK']);
  });

  it('follows a version written by someone else only where the state\'s callback does', () => {
    // ClientVersionChangeMonitor.run: no callback while the stored version is the expected one.
    assert.equal(followClientVersionChange('CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_UPGRADE_FROM_2X'), undefined);
    // UpgradeFrom2xState.onClientVersionChange: 2X (rollback) and 3X_WITH_ROLLBACK (the leader's flip); anything else throws InvalidStateException.
    assert.equal(followClientVersionChange('CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_2X'), 'CLIENT_VERSION_2X');
    assert.equal(followClientVersionChange('CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK'), 'CLIENT_VERSION_3X_WITH_ROLLBACK');
    assert.equal(followClientVersionChange('CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_3X'), 'invalid');
    // 2xState.onClientVersionChange: only the roll-forward to UPGRADE_FROM_2X.
    assert.equal(followClientVersionChange('CLIENT_VERSION_2X', 'CLIENT_VERSION_UPGRADE_FROM_2X'), 'CLIENT_VERSION_UPGRADE_FROM_2X');
    assert.equal(followClientVersionChange('CLIENT_VERSION_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK'), 'invalid');
    // 3xWithRollbackState.onClientVersionChange: 2X (rollback) and 3X (a 3.x-configured worker or the tool).
    assert.equal(followClientVersionChange('CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_2X'), 'CLIENT_VERSION_2X');
    assert.equal(followClientVersionChange('CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_3X'), 'CLIENT_VERSION_3X');
    assert.equal(followClientVersionChange('CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_UPGRADE_FROM_2X'), 'invalid');
  });

  it('maps the public clientVersion onto Java\'s ClientVersionConfig', () => {
    assert.equal(clientVersionConfigOf('3.x'), 'CLIENT_VERSION_CONFIG_3X');
    assert.equal(clientVersionConfigOf('compatible-with-2.x'), 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X');
  });
});

describe('MigrationReadyMonitor readiness rule', () => {
  const now = 1_800_000_000_500; // ms; nowSeconds = 1_800_000_000
  const nowS = 1_800_000_000;
  const stats = (workerId: string, lut?: number) => ({ workerId, ...(lut === undefined ? {} : { lastUpdateTime: lut }) });

  it('uses Java\'s figures', () => {
    assert.equal(MIGRATION_MONITOR_INTERVAL_MS, 60_000); // MigrationReadyMonitor / ClientVersionChangeMonitor MONITOR_INTERVAL_MILLIS = 1 min
    assert.equal(MIGRATION_READY_STABILITY_MS, 600_000); // Scheduler: Duration.ofMinutes(10).getSeconds() as flipTo3XStabilizerTimeInSeconds
    assert.equal(WORKER_METRICS_EXPIRY_MS, 60_000); // DEFAULT_NO_OF_SKIP_STAT_FOR_DEAD_WORKER_THRESHOLD 2 x workerMetricsReporterFreqInMillis 30 s
  });

  it('counts a WorkerMetricStats item as active while lut + expirySeconds > nowSeconds (whole seconds)', () => {
    // isWorkerMetricStatsActive: 60 s expiry; lut 59 s ago is active, exactly 60 s ago is not (strict >).
    assert.equal(isWorkerMetricStatsActive(stats('a', nowS - 59), now, 60_000), true);
    assert.equal(isWorkerMetricStatsActive(stats('a', nowS - 60), now, 60_000), false);
    // The 500 ms past the second are truncated away (Duration.ofMillis(now).getSeconds()).
    assert.equal(isWorkerMetricStatsActive(stats('a', nowS - 60), now + 499, 60_000), false);
    assert.equal(isWorkerMetricStatsActive(stats('a'), now, 60_000), false);
  });

  it('is ready when every lease owner has active metrics; a dead owner or an unowned lease blocks it', () => {
    const metrics = [stats('a', nowS), stats('b', nowS - 10), stats('idle', nowS)];
    // workersWithActiveWorkerMetrics.containsAll(leaseOwners): extra reporting workers do not matter.
    assert.equal(leaseOwnersEmitWorkerMetrics([{ leaseKey: 's0', leaseOwner: 'a' }, { leaseKey: 's1', leaseOwner: 'b' }], metrics, now, 60_000), true);
    // An owner without metrics (a 2.x worker) blocks; so does one whose item went stale (lease expiry is not checked).
    assert.equal(leaseOwnersEmitWorkerMetrics([{ leaseKey: 's0', leaseOwner: 'a' }, { leaseKey: 's1', leaseOwner: 'java-2x' }], metrics, now, 60_000), false);
    assert.equal(leaseOwnersEmitWorkerMetrics([{ leaseKey: 's0', leaseOwner: 'b' }], [stats('b', nowS - 61)], now, 60_000), false);
    // Lease::leaseOwner collected into a HashSet keeps null: an unowned lease is never "contained".
    assert.equal(leaseOwnersEmitWorkerMetrics([{ leaseKey: 's0', leaseOwner: 'a' }, { leaseKey: 's1' }], metrics, now, 60_000), false);
    // No lease at all: containsAll of an empty set is true.
    assert.equal(leaseOwnersEmitWorkerMetrics([], [], now, 60_000), true);
    // isReadyForUpgradeTo3x: gsiStatusReady && areLeaseOwnersEmittingWorkerMetrics().
    const leases = [{ leaseKey: 's0', leaseOwner: 'a' }];
    assert.equal(isReadyForUpgradeTo3x({ leaseOwnerIndexActive: false, leases, workerMetrics: metrics, nowMillis: now, workerMetricsExpiryMs: 60_000 }), false);
    assert.equal(isReadyForUpgradeTo3x({ leaseOwnerIndexActive: true, leases, workerMetrics: metrics, nowMillis: now, workerMetricsExpiryMs: 60_000 }), true);
  });

  it('fires only once the trigger has held for the stability window, and restarts the clock on any drop', () => {
    const window = 600_000;
    // MonitorTriggerStabilizer.call: the first true starts the clock; it fires when now - toggle >= window.
    let r = stabilize(initialStabilizer(), true, 0, window);
    assert.equal(r.fire, false);
    r = stabilize(r.state, true, 599_999, window);
    assert.equal(r.fire, false);
    r = stabilize(r.state, true, 600_000, window);
    assert.equal(r.fire, true);
    // It keeps firing on each run until the monitor is cancelled (the flip written).
    r = stabilize(r.state, true, 660_000, window);
    assert.equal(r.fire, true);
    // A false run toggles: the next true starts a new window.
    r = stabilize(r.state, false, 720_000, window);
    assert.equal(r.fire, false);
    r = stabilize(r.state, true, 780_000, window);
    assert.equal(r.fire, false);
    assert.equal(stabilize(r.state, true, 1_379_999, window).fire, false);
    assert.equal(stabilize(r.state, true, 1_380_000, window).fire, true);
    // reset() (not the leader) clears the trigger: leading again starts a new window.
    const reset = resetStabilizer(stabilize(r.state, true, 1_380_000, window).state);
    r = stabilize(reset, true, 2_000_000, window);
    assert.equal(r.fire, false);
    assert.equal(r.state.sinceMillis, 2_000_000);
  });
});
