import { JavaRandom } from '../common/java-random.ts';
import { errorFields, type Logger } from '../common/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { loadLeaseAssignmentData } from './lease-assignment-data.ts';
import { decideLeaseAssignments, initialAssignmentMemory, type AssignmentMemory, type LeaseAssignmentConfig } from './lease-assignment-decisions.ts';
import { applyLeaseAssignments, type LeaseAssignmentTable } from './lease-assignment-writes.ts';

const nanoNow = (): number => Number(process.hrtime.bigint());

/**
 * Java KCL 3.x LeaseAssignmentManager, one run at a time: only the leader runs it; it reads the lease
 * table (leases and workers' metrics), decides with the pure decisions and writes them. What it
 * remembers between runs is forgotten when leadership is lost, so a new leader starts afresh.
 */
export class LeaseAssignmentManager {
  private memory: AssignmentMemory = initialAssignmentMemory();
  private wasLeader = false;
  private readonly random = new JavaRandom(Date.now());

  constructor(
    private readonly table: LeaseAssignmentTable,
    private readonly config: LeaseAssignmentConfig,
    private readonly isLeader: () => Promise<boolean>,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly workerId: string,
  ) {}

  /** One assignment run; not the leader = nothing read or written. */
  async runOnce(): Promise<void> {
    if (!(await this.isLeader())) {
      if (this.wasLeader) this.logger.info('No longer the leader: lease assignment stops here');
      this.wasLeader = false;
      this.memory = initialAssignmentMemory();
      return;
    }
    if (!this.wasLeader) this.logger.info('Became the leader: assigning leases');
    this.wasLeader = true;
    const scope = this.metrics.scope('LeaseAssignmentManager', { WorkerIdentifier: this.workerId });
    const started = performance.now();
    let success = false;
    try {
      const data = await loadLeaseAssignmentData(this.table);
      const decisions = decideLeaseAssignments({ ...data, config: this.config, memory: this.memory, nowNanos: nanoNow(), nowEpochMillis: Date.now(), random: this.random });
      const applied = await applyLeaseAssignments(this.table, decisions, this.config, nanoNow);
      this.memory = applied.memory;
      if (applied.written.length > 0 || applied.failed.length > 0 || decisions.spillover.length > 0) {
        this.logger.info(
          {
            assigned: decisions.assignments.map((a) => ({ leaseKey: a.lease.leaseKey, from: a.lease.leaseOwner, to: a.newOwner, mode: a.mode })),
            failed: applied.failed,
            spillover: decisions.spillover,
            workers: decisions.activeWorkers.length,
          },
          'Lease assignment run',
        );
      }
      scope
        .add('TotalLeases', data.leases.length, 'Count', 'SUMMARY')
        .add('NumWorkers', decisions.activeWorkers.length, 'Count', 'SUMMARY')
        .add('LeaseSpillover', decisions.spillover.length, 'Count', 'SUMMARY')
        .add('FailedAssignmentCount', applied.failed.length, 'Count', 'SUMMARY');
      if (applied.errors.length > 0) throw applied.errors[0];
      success = true;
    } catch (err) {
      this.logger.warn(errorFields(err), 'Lease assignment run failed; the next run decides again');
    } finally {
      scope.addSuccessAndLatency(undefined, success, started, 'SUMMARY').end();
    }
  }
}
