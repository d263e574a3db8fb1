import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cgroupv1CpuWorkerMetric, Cgroupv2CpuWorkerMetric, cpusInCpuSet, ProcessCpuWorkerMetric, selectCpuWorkerMetric, type WorkerMetric } from '../../src/workermetrics/cpu-worker-metric.ts';
import { roundHalfUp6, WorkerMetricStatsManager } from '../../src/workermetrics/worker-metric-stats-manager.ts';
import { fromWorkerMetricStatsItem, toWorkerMetricStatsItem, workerMetricStatsUpdate } from '../../src/workermetrics/worker-metric-stats-serializer.ts';
import type { WorkerMetricStats } from '../../src/workermetrics/worker-metric-stats.ts';
import { waitFor } from '../support/env.ts';

/*
 * Expected figures: the Java KCL 3.5.1 formulas (Cgroupv1/v2CpuWorkerMetric, Cgroup, WorkerMetricStatsManager,
 * the WorkerMetricStats bean's attribute names); the rounding cases were printed by OpenJDK 17.0.15 jshell.
 */

/** Fake cgroup files and a wall clock the test moves. */
function fakeHost(files: Record<string, string>) {
  let now = 1_000;
  return {
    files,
    read: (path: string) => {
      const v = files[path];
      if (v === undefined) throw new Error(`ENOENT ${path}`);
      return v;
    },
    now: () => now,
    advance: (ms: number) => void (now += ms),
  };
}

describe('CPU worker metrics', () => {
  it('counts the cores of a cpuset as Java does', () => {
    // Cgroup.getAvailableCpusFromEffectiveCpuSet javadoc: "0-7" = 8, "0-4,6,8-10" = 9.
    assert.equal(cpusInCpuSet('0-7'), 8);
    assert.equal(cpusInCpuSet('0-4,6,8-10'), 9);
  });

  it('cgroup v2: usage_usec over wall time, against cpu.max or the effective cpuset', () => {
    const host = fakeHost({ '/cg/cpu.max': 'max 100000', '/cg/cpuset.cpus.effective': '0-1', '/cg/cpu.stat': 'usage_usec 1000000' });
    const m = new Cgroupv2CpuWorkerMetric(100, host.read, host.now, '/cg/');
    assert.equal(m.capture(), 0); // first call: no previous sample
    host.advance(1000);
    host.files['/cg/cpu.stat'] = 'usage_usec 1500000';
    // 0.5 s of CPU in 1 s = 0.5 cores of 2 -> 25 %.
    assert.equal(m.capture(), 25);
    const limited = fakeHost({ '/cg/cpu.max': '50000 100000', '/cg/cpu.stat': 'usage_usec 0' });
    const l = new Cgroupv2CpuWorkerMetric(100, limited.read, limited.now, '/cg/');
    l.capture();
    limited.advance(1000);
    limited.files['/cg/cpu.stat'] = 'usage_usec 600000';
    // 0.6 cores against a 0.5-core quota = 120 %: capped at 100 (Java: "in case of rounding error").
    assert.equal(l.capture(), 100);
  });

  it('cgroup v1: cpuacct.usage (ns) against cfs quota / period, -1 = the effective cpuset', () => {
    const host = fakeHost({ '/cg/cpu/cpu.cfs_quota_us': '-1', '/cg/cpu/cpu.cfs_period_us': '100000', '/cg/cpuset/cpuset.effective_cpus': '0-3', '/cg/cpu/cpuacct.usage': '2000000000' });
    const m = new Cgroupv1CpuWorkerMetric(100, host.read, host.now, '/cg/');
    assert.equal(m.capture(), 0);
    host.advance(1000);
    host.files['/cg/cpu/cpuacct.usage'] = '4000000000';
    // 2 s of CPU in 1 s = 2 cores of 4 -> 50 %.
    assert.equal(m.capture(), 50);
  });

  it('without cgroups: the process CPU time against the cores Node may use', () => {
    let usage = { user: 100_000, system: 0 };
    let now = 0;
    const m = new ProcessCpuWorkerMetric(100, () => usage, () => now, 2);
    assert.equal(m.capture(), 0);
    usage = { user: 400_000, system: 100_000 };
    now = 1000;
    // 0.4 s of CPU in 1 s = 0.4 cores of 2 -> 20 %.
    assert.equal(m.capture(), 20);
  });

  it('picks cgroup v2, then v1, then the process, by the files present', () => {
    const has = (...paths: string[]) => (p: string) => paths.includes(p);
    assert.ok(selectCpuWorkerMetric(has('/x/cgroup.controllers', '/x/cpu.max', '/x/cpu.stat'), '/x/') instanceof Cgroupv2CpuWorkerMetric);
    assert.ok(selectCpuWorkerMetric(has('/x/cpu/cpuacct.usage', '/x/cpu/cpu.cfs_quota_us'), '/x/') instanceof Cgroupv1CpuWorkerMetric);
    // cgroup v2 without a cpu controller file (a host's root cgroup) is not readable: fall back.
    assert.ok(selectCpuWorkerMetric(has('/x/cgroup.controllers'), '/x/') instanceof ProcessCpuWorkerMetric);
  });
});

describe('WorkerMetricStatsManager', () => {
  const scripted = (values: (number | Error)[]): WorkerMetric => ({
    shortName: 'C',
    maxUtilization: 100,
    capture: () => {
      const v = values.shift();
      if (v === undefined || v instanceof Error) throw v ?? new Error('no more samples');
      return v;
    },
  });

  it('rounds as BigDecimal.valueOf(v).setScale(6, HALF_UP)', () => {
    // jshell: 1.0000005 -> 1.000001, 18.3333335 -> 18.333334 (toFixed says 18.333333), 99.9999995 -> 100.0,
    // 12.34567849 -> 12.345678, 1.0E-7 -> 0.0, 5.0E-7 -> 1.0E-6.
    assert.deepEqual([1.0000005, 18.3333335, 99.9999995, 12.34567849, 1e-7, 5e-7].map(roundHalfUp6), [1.000001, 18.333334, 100, 12.345678, 0, 0.000001]);
  });

  it('reports the mean of the samples since the last report, -1 when every capture failed, the last N values', () => {
    const failures: unknown[] = [];
    const m = new WorkerMetricStatsManager([scripted([10, 20, 25.0000005, new Error('unreadable')])], { captureFrequencyMillis: 1000, reporterFrequencyMillis: 30000, persistedValuesPerMetric: 3 }, (_m, e) => failures.push(e));
    for (let i = 0; i < 4; i++) m.captureOnce();
    assert.equal(failures.length, 1);
    // jshell: DoubleStream.of(10, 20, 25.0000005).average() = 18.3333335 -> HALF_UP 6 -> 18.333334.
    assert.deepEqual(m.computeMetrics(), { C: [18.333334] });
    m.captureOnce(); // fails: nothing captured this period -> -1
    assert.deepEqual(m.computeMetrics(), { C: [18.333334, -1] });
    assert.deepEqual(m.computeMetrics(), { C: [18.333334, -1, -1] });
    assert.deepEqual(m.computeMetrics(), { C: [-1, -1, -1] }); // N = 3: the oldest is evicted
  });

  it('samples on its own timer once started, and stops', async () => {
    let captures = 0;
    const metric: WorkerMetric = { shortName: 'C', maxUtilization: 100, capture: () => ++captures };
    const m = new WorkerMetricStatsManager([metric], { captureFrequencyMillis: 5, reporterFrequencyMillis: 30000, persistedValuesPerMetric: 10 });
    m.start(() => 0);
    await waitFor(() => captures >= 3, 'three captures');
    m.stop();
    const stoppedAt = captures;
    const report = m.computeMetrics().C!;
    assert.equal(report.length, 1);
    assert.ok(report[0]! >= 1 && report[0]! <= stoppedAt);
  });

  it('reads this machine (real files or process.cpuUsage) within 0..100', () => {
    const m = selectCpuWorkerMetric();
    assert.equal(m.capture(), 0);
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += i;
    assert.ok(x > 0);
    const v = m.capture();
    assert.ok(v >= 0 && v <= 100, `${v}`);
  });

  it('builds the WorkerMetricStatsReporter item: lut and slu in epoch seconds, support code 1, opr [100]', () => {
    const m = new WorkerMetricStatsManager([scripted([42])]);
    m.captureOnce();
    assert.deepEqual(m.report('worker-1', 1_800_000_000_999), {
      workerId: 'worker-1',
      metricStats: { C: [42] },
      operatingRange: { C: [100] },
      lastUpdateTime: 1_800_000_000,
      supportCode: 1,
      supportCodeUpdateEpochSeconds: 1_800_000_000,
    });
  });
});

describe('WorkerMetricStats item', () => {
  const stats: WorkerMetricStats = {
    workerId: 'worker-1',
    lastUpdateTime: 1_800_000_000,
    metricStats: { C: [12.5, 40, -1] },
    operatingRange: { C: [100] },
    properties: { host: 'a' },
    supportCode: 1,
    supportCodeUpdateEpochSeconds: 1_800_000_001,
  };

  it('carries the Java bean attribute names and types, keyed by wid or (3.5 lease table) leaseKey', () => {
    const item = toWorkerMetricStatsItem(stats, 'workerMetricsTable');
    assert.deepEqual(item, {
      wid: { S: 'worker-1' },
      entityType: { S: 'WORKER_METRIC_STATS' },
      lut: { N: '1800000000' },
      sts: { M: { C: { L: [{ N: '12.5' }, { N: '40' }, { N: '-1' }] } } },
      opr: { M: { C: { L: [{ N: '100' }] } } },
      properties: { M: { host: { S: 'a' } } },
      sup: { N: '1' },
      slu: { N: '1800000001' },
    });
    const { wid: _wid, ...rest } = item;
    assert.deepEqual(toWorkerMetricStatsItem(stats, 'leaseTable'), { leaseKey: { S: 'worker-1' }, ...rest });
  });

  it('round-trips through either table form', () => {
    assert.deepEqual(fromWorkerMetricStatsItem(toWorkerMetricStatsItem(stats, 'workerMetricsTable')), stats);
    assert.deepEqual(fromWorkerMetricStatsItem(toWorkerMetricStatsItem(stats, 'leaseTable')), stats);
    // A lease in the lease table is not a worker's metrics.
    assert.equal(fromWorkerMetricStatsItem({ leaseKey: { S: 'shardId-000' }, leaseCounter: { N: '1' } }), undefined);
  });

  it('is written as an unconditional UpdateItem that SETs only the fields present (ignoreNulls)', () => {
    const update = workerMetricStatsUpdate('app-WorkerMetricStats', { workerId: 'w', lastUpdateTime: 5, metricStats: { C: [1] }, operatingRange: { C: [100] } }, 'workerMetricsTable');
    assert.deepEqual(update.Key, { wid: { S: 'w' } });
    assert.equal(update.ConditionExpression, undefined);
    assert.deepEqual(Object.values(update.ExpressionAttributeNames ?? {}).sort(), ['entityType', 'lut', 'opr', 'sts']);
  });
});
