import type { ClientVersion, ClientVersionConfig } from './migration-state.ts';

/**
 * What each client version means for a worker, as Java's DynamicMigrationComponentsInitializer
 * sets it up on entering each MigrationClientVersion*State (KCL 3.5.1). The runner applies this
 * table; it never decides a component anywhere else.
 */
export interface ClientVersionBehaviour {
  /** '2.x': the taker (DEFAULT_LEASE_COUNT_BASED_ASSIGNMENT); '3.x': GSI discovery + the leader's LeaseAssignmentManager (WORKER_UTILIZATION_AWARE_ASSIGNMENT). */
  leaseAssignmentMode: '2.x' | '3.x';
  /** Whether the leader runs the LeaseAssignmentManager (started only where the mode is '3.x'). */
  leaseAssignmentManager: boolean;
  /** Whether this worker publishes its WorkerMetricStats item (startWorkerMetricsReporting). */
  workerMetricsReporting: boolean;
  /** Who leads: '2.x' DeterministicShuffleShardSyncLeaderDecider, '3.x' DynamoDBLockBasedLeaderDecider. */
  leaderDecider: '2.x' | '3.x';
  /** The versions written by someone else that ClientVersionChangeMonitor follows from here; empty = no monitor. */
  followsTo: readonly ClientVersion[];
  /** MigrationReadyMonitor: started on every worker, it runs its check only on the current leader. */
  migrationReadyMonitor: boolean;
}

/**
 * One row per version; each cell traced to the Java 3.5.1 source:
 * - INIT (Phase 1, COMPATIBLE_WITH_2X_PHASE1 only): initializeClientVersionForPhase1 — lease-count
 *   assignment, deterministic leader, no LAM, no worker metrics; MigrationClientVersionInitState
 *   starts no monitor.
 * - UPGRADE_FROM_2X: initializeClientVersionForUpgradeFrom2x — DEFAULT_LEASE_COUNT_BASED_ASSIGNMENT,
 *   deterministic leader, startWorkerMetricsReporting, "LAM is not started until the dynamic flip";
 *   the state starts MigrationReadyMonitor and a ClientVersionChangeMonitor whose callback accepts
 *   2X (rollback) and 3X_WITH_ROLLBACK (the flip).
 * - 2X: initializeClientVersionFor2x — stopWorkerMetricsReporter on a dynamic rollback and no
 *   reporting when starting in 2X; lease-count assignment, LAM stopped, deterministic leader; the
 *   roll-forward monitor accepts UPGRADE_FROM_2X only.
 * - 3X_WITH_ROLLBACK: initializeClientVersionFor3xWithRollback — WORKER_UTILIZATION_AWARE_ASSIGNMENT,
 *   lock-based leader, reporting on, leaseAssignmentManager.start(); the rollback monitor accepts
 *   2X and 3X.
 * - 3X: initializeClientVersionFor3x — the same components, not dual mode; terminal, no monitor
 *   (MigrationStateMachineImpl terminates on entering it).
 */
export const CLIENT_VERSION_BEHAVIOUR = {
  // ts-kcl, not Java: INIT (the passive default) follows a migration another worker starts, where
  // Java's Phase 1 notices it only at its next restart. It still writes nothing itself.
  CLIENT_VERSION_INIT: {
    leaseAssignmentMode: '2.x',
    leaseAssignmentManager: false,
    workerMetricsReporting: false,
    leaderDecider: '2.x',
    followsTo: ['CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_3X'],
    migrationReadyMonitor: false,
  },
  CLIENT_VERSION_UPGRADE_FROM_2X: {
    leaseAssignmentMode: '2.x',
    leaseAssignmentManager: false,
    workerMetricsReporting: true,
    leaderDecider: '2.x',
    followsTo: ['CLIENT_VERSION_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK'],
    migrationReadyMonitor: true,
  },
  CLIENT_VERSION_2X: { leaseAssignmentMode: '2.x', leaseAssignmentManager: false, workerMetricsReporting: false, leaderDecider: '2.x', followsTo: ['CLIENT_VERSION_UPGRADE_FROM_2X'], migrationReadyMonitor: false },
  CLIENT_VERSION_3X_WITH_ROLLBACK: {
    leaseAssignmentMode: '3.x',
    leaseAssignmentManager: true,
    workerMetricsReporting: true,
    leaderDecider: '3.x',
    followsTo: ['CLIENT_VERSION_2X', 'CLIENT_VERSION_3X'],
    migrationReadyMonitor: false,
  },
  CLIENT_VERSION_3X: { leaseAssignmentMode: '3.x', leaseAssignmentManager: true, workerMetricsReporting: true, leaderDecider: '3.x', followsTo: [], migrationReadyMonitor: false },
} as const satisfies Record<ClientVersion, ClientVersionBehaviour>;

export const behaviourOf = (version: ClientVersion): ClientVersionBehaviour => CLIENT_VERSION_BEHAVIOUR[version];

/** Whether ClientVersionChangeMonitor polls the item in this version (not in the terminal 3X). */
export const monitorsClientVersion = (version: ClientVersion): boolean => behaviourOf(version).followsTo.length > 0;

/**
 * ClientVersionChangeMonitor's callback: the stored version differs from this worker's. The version
 * to move to, or 'invalid' (Java logs an error, throws InvalidStateException and keeps monitoring,
 * without writing its own version back); undefined when nothing changed.
 */
export function followClientVersionChange(current: ClientVersion, stored: ClientVersion): ClientVersion | 'invalid' | undefined {
  if (stored === current) return undefined;
  return behaviourOf(current).followsTo.includes(stored) ? stored : 'invalid';
}

/** The public `clientVersion` setting as the Java CoordinatorConfig.ClientVersionConfig it stands for. */
export function clientVersionConfigOf(clientVersion: '3.x' | 'compatible-with-2.x'): ClientVersionConfig {
  return clientVersion === '3.x' ? 'CLIENT_VERSION_CONFIG_3X' : 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X';
}
