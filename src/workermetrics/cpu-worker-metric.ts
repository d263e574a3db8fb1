import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { WorkerMetricType } from './worker-metric-stats.ts';

/**
 * CPU utilization of this worker, 0..100 % of what it may use (Java KCL 3.x Cgroupv2CpuWorkerMetric,
 * Cgroupv1CpuWorkerMetric; with no cgroup, the process's own CPU time against the cores Node may use).
 */
export interface WorkerMetric {
  /** The `sts`/`opr` key. */
  readonly shortName: string;
  /** opr: the utilization the operator allows (Java defaults to 100). */
  readonly maxUtilization: number;
  /** One sample; throws when the value cannot be read or is outside 0..100 (Java WorkerMetricValue). */
  capture(): number;
}

/** Reads the first line of a file (a cgroup file); injectable for tests. */
export type ReadFirstLine = (path: string) => string;
/** Wall clock in ms (Java's Clock.systemUTC().millis()). */
export type Millis = () => number;

export const readFirstLine: ReadFirstLine = (path) => readFileSync(path, 'utf8').split('\n', 1)[0]!.trim();

/** Cgroup.getAvailableCpusFromEffectiveCpuSet: "0-4,6,8-10" -> 9. */
export function cpusInCpuSet(cpuSet: string): number {
  let sum = 0;
  for (const group of cpuSet.split(',')) {
    const [from, to] = group.split('-');
    sum += to === undefined ? 1 : Number.parseInt(to, 10) - Number.parseInt(from!, 10) + 1;
  }
  return sum;
}

function checkedValue(value: number): number {
  if (!(value >= 0 && value <= 100)) throw new RangeError(`${value} is either less than 0 or greater than 100`);
  return value;
}

/** CPU time used between two samples over wall time elapsed, as a share of the limit; the first sample is 0. */
class CpuDelta {
  private lastCpu = 0;
  private lastWall = 0;

  /** Both counters in the same unit (µs or ns); `limitCores` may be fractional. */
  share(cpuTime: number, wallTime: number, limitCores: number): number {
    const first = this.lastCpu === 0 && this.lastWall === 0;
    const coresUsed = (cpuTime - this.lastCpu) / (wallTime - this.lastWall);
    this.lastCpu = cpuTime;
    this.lastWall = wallTime;
    return first ? 0 : Math.min(100.0, (coresUsed / limitCores) * 100.0);
  }
}

/** A cgroup's CPU time against its limit: v1 and v2 differ only in the files they read and the unit. */
abstract class CgroupCpuWorkerMetric implements WorkerMetric {
  readonly shortName = WorkerMetricType.CPU;
  private limit = -1;
  private readonly delta = new CpuDelta();

  /**
   * A CPU metric of this worker's cgroup.
   * @param maxUtilization the operating range's ceiling, in percent (Java's default 100).
   * @param read reads the first line of a cgroup file (injectable for tests).
   * @param now the wall clock.
   * @param root where the cgroup hierarchy is mounted.
   */
  constructor(
    readonly maxUtilization = 100,
    protected readonly read: ReadFirstLine = readFirstLine,
    private readonly now: Millis = Date.now,
    protected readonly root = '/sys/fs/cgroup/',
  ) {}

  capture(): number {
    if (this.limit === -1) this.limit = this.cpuLimit();
    return checkedValue(this.delta.share(this.usage(), this.now() * this.unitsPerMs, this.limit));
  }

  /** The cgroup's CPU time so far, in its own unit. */
  protected abstract usage(): number;
  /** That unit in a millisecond. */
  protected abstract readonly unitsPerMs: number;
  /** The cores the cgroup may use (fractional under a quota); read once. */
  protected abstract cpuLimit(): number;
}

/** cgroup v2: cpu.stat `usage_usec`, limit from cpu.max (`max` = the effective cpuset). */
export class Cgroupv2CpuWorkerMetric extends CgroupCpuWorkerMetric {
  protected readonly unitsPerMs = 1000;

  protected usage(): number {
    const usageUsec = Number.parseInt(this.read(`${this.root}cpu.stat`).split(' ')[1] ?? '', 10);
    if (Number.isNaN(usageUsec)) throw new Error('cpu.stat has no usage_usec');
    return usageUsec;
  }

  protected cpuLimit(): number {
    const [max, period] = this.read(`${this.root}cpu.max`).split(' ');
    if (max === 'max') return cpusInCpuSet(this.read(`${this.root}cpuset.cpus.effective`));
    return Number.parseFloat(max!) / Number.parseInt(period!, 10);
  }
}

/** cgroup v1: cpuacct.usage (ns), limit from cfs_quota_us / cfs_period_us (-1 = the effective cpuset). */
export class Cgroupv1CpuWorkerMetric extends CgroupCpuWorkerMetric {
  protected readonly unitsPerMs = 1e6;

  protected usage(): number {
    return Number.parseInt(this.read(`${this.root}cpu/cpuacct.usage`), 10);
  }

  protected cpuLimit(): number {
    const quota = Number.parseInt(this.read(`${this.root}cpu/cpu.cfs_quota_us`), 10);
    const period = Number.parseInt(this.read(`${this.root}cpu/cpu.cfs_period_us`), 10);
    if (quota === -1) return cpusInCpuSet(this.read(`${this.root}cpuset/cpuset.effective_cpus`));
    return quota / period;
  }
}

/** No cgroup to read: this process's user + system CPU time against the cores Node may run on. */
export class ProcessCpuWorkerMetric implements WorkerMetric {
  readonly shortName = WorkerMetricType.CPU;
  private readonly delta = new CpuDelta();

  /**
   * A CPU metric of this process alone.
   * @param maxUtilization the operating range's ceiling, in percent (Java's default 100).
   * @param cpuUsage this process's CPU time (injectable for tests).
   * @param now the wall clock.
   * @param cores the cores Node may use.
   */
  constructor(
    readonly maxUtilization = 100,
    private readonly cpuUsage: () => { user: number; system: number } = () => process.cpuUsage(),
    private readonly now: Millis = Date.now,
    private readonly cores: number = availableParallelism(),
  ) {}

  capture(): number {
    const { user, system } = this.cpuUsage();
    return checkedValue(this.delta.share(user + system, this.now() * 1000, this.cores));
  }
}

/**
 * Java's choice for containers (OperatingRangeDataProvider): cgroup v2 when cgroup.controllers
 * exists, else v1 when the cpu hierarchy does; ts-kcl also requires the files each reads, and
 * falls back to the process's own CPU time (Java would use /proc/stat on EC2, the whole host).
 */
export function selectCpuWorkerMetric(exists: (path: string) => boolean = existsSync, root = '/sys/fs/cgroup/'): WorkerMetric {
  if (exists(`${root}cgroup.controllers`) && exists(`${root}cpu.max`) && exists(`${root}cpu.stat`)) return new Cgroupv2CpuWorkerMetric(100, readFirstLine, Date.now, root);
  if (exists(`${root}cpu/cpuacct.usage`) && exists(`${root}cpu/cpu.cfs_quota_us`)) return new Cgroupv1CpuWorkerMetric(100, readFirstLine, Date.now, root);
  return new ProcessCpuWorkerMetric();
}
