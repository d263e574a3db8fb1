import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, type SchedulerConfig } from '../../src/config.ts';
import { IllegalArgumentError } from '../../src/errors.ts';
import { ProcessCpuWorkerMetric } from '../../src/index.ts';

const base = (extra: Partial<SchedulerConfig> = {}): SchedulerConfig => ({
  applicationName: 'my-app',
  streamName: 'my-stream',
  processorFactory: () => ({ initialize() {}, processRecords() {}, leaseLost() {}, shardEnded() {}, shutdownRequested() {} }),
  ...extra,
});

describe('KCL 3.x configuration', () => {
  it("defaults to Java's figures (LeaseManagementConfig, WorkerUtilizationAwareAssignmentConfig, GracefulLeaseHandoffConfig)", () => {
    const { kcl3, coordinator } = resolveConfig(base());
    assert.equal(kcl3.clientVersion, 'compatible-with-2.x', 'an upgrade keeps a 2.x fleet on its protocol until the fleet migrates');
    assert.equal(kcl3.clientVersionConfig, 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X_PHASE1', 'and writes nothing of 3.x into a table Java 2.x workers share');
    assert.equal(resolveConfig(base({ clientVersion: 'compatible-with-2.x' })).kcl3.clientVersionConfig, 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X');
    assert.equal(kcl3.leaseAssignmentIntervalMs, 20000, '2 x failoverTimeMillis');
    assert.equal(kcl3.leaseDiscoveryIntervalMs, 9975, 'leaseAssignmentIntervalMillis / 2 - epsilon (kcl-spec: 9975 ms)');
    assert.deepEqual(
      { ...kcl3.assignment, maxThroughputPerHostKBps: undefined, maxLeasesForWorker: undefined },
      {
        leaseAssignmentStrategy: 'WORKER_UTILIZATION_AWARE',
        reBalanceThresholdPercentage: 10,
        dampeningPercentage: 60,
        allowThroughputOvershoot: true,
        maxThroughputPerHostKBps: undefined,
        varianceBalancingFrequency: 3,
        workerMetricsEMAAlpha: 0.5,
        workerMetricsReporterFreqInMillis: 30000,
        maxLeasesForWorker: undefined,
        leaseDurationMillis: 10000,
        isGracefulLeaseHandoffEnabled: true,
        gracefulLeaseHandoffTimeoutMillis: 30000,
      },
    );
    assert.deepEqual(kcl3.sampling, { captureFrequencyMillis: 1000, reporterFrequencyMillis: 30000, persistedValuesPerMetric: 10 });
    assert.deepEqual(kcl3.leaderLock, { leaseDurationMs: 120000, heartbeatPeriodMs: 30000 });
    assert.deepEqual(coordinator.clientVersionMigration, { monitorIntervalMs: 60000, readyStabilityMs: 600000 });
  });

  it('follows failover and maxLeasesForWorker, and takes every override', () => {
    const metric = new ProcessCpuWorkerMetric();
    const { kcl3 } = resolveConfig(
      base({
        clientVersion: '3.x',
        lease: {
          failoverTimeMs: 3000,
          maxLeasesForWorker: 5,
          gracefulLeaseHandoff: { enabled: false, timeoutMs: 500 },
          workerUtilizationAwareAssignment: { dampeningPercentage: 80, workerMetricsReporterFreqMs: 1000, workerMetrics: [metric], leaseAssignmentStrategy: 'LEASE_COUNT_BASED' },
        },
      }),
    );
    assert.equal(kcl3.clientVersion, '3.x');
    assert.equal(kcl3.leaseAssignmentIntervalMs, 6000);
    assert.equal(kcl3.assignment.leaseDurationMillis, 3000);
    assert.equal(kcl3.assignment.maxLeasesForWorker, 5);
    assert.equal(kcl3.assignment.isGracefulLeaseHandoffEnabled, false);
    assert.equal(kcl3.assignment.gracefulLeaseHandoffTimeoutMillis, 500);
    assert.equal(kcl3.assignment.dampeningPercentage, 80);
    assert.equal(kcl3.assignment.leaseAssignmentStrategy, 'LEASE_COUNT_BASED');
    assert.equal(kcl3.assignment.workerMetricsReporterFreqInMillis, 1000, 'the leader judges staleness by the same period');
    assert.deepEqual(kcl3.workerMetrics, [metric]);
  });

  for (const [config, field] of [
    [{ clientVersion: '3' }, 'clientVersion'],
    [{ clientVersion: 'CLIENT_VERSION_CONFIG_3X' }, 'clientVersion'],
    [{ lease: { workerUtilizationAwareAssignment: { reBalanceThresholdPercentage: 150 } } }, 'lease.workerUtilizationAwareAssignment.reBalanceThresholdPercentage'],
    [{ lease: { workerUtilizationAwareAssignment: { leaseAssignmentStrategy: 'RANDOM' } } }, 'lease.workerUtilizationAwareAssignment.leaseAssignmentStrategy'],
    [{ lease: { gracefulLeaseHandoff: { timeoutMs: -1 } } }, 'lease.gracefulLeaseHandoff.timeoutMs'],
    [{ lease: { leaseAssignmentIntervalMs: 0 } }, 'lease.leaseAssignmentIntervalMs'],
  ] as const) {
    it(`rejects ${JSON.stringify(config)}, naming ${field} and the fix`, () => {
      assert.throws(
        () => resolveConfig(base(config as unknown as Partial<SchedulerConfig>)),
        (err: Error) => err instanceof IllegalArgumentError && err.message.includes(`SchedulerConfig.${field}`) && /pass /.test(err.message),
      );
    });
  }
});
