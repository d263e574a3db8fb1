// A ts-kcl worker in its own process, for multi-worker tests and the soak. Config comes as JSON in
// argv[2]; it reports what it does as JSON lines on stdout (each with the worker id `w`, the process
// id `p` and the time `at`), and shuts down gracefully on SIGTERM. Events: started, acquired, lost,
// init (tenure start, with the checkpoint `from`), rec (data `d` and sequence numbers `s`), cp / cpFail
// (each checkpoint with its value), leaseLost / shardEnded / shutdownRequested (tenure ends), error,
// log (WARN and ERROR lines, with `logWarnings`), crash (unhandled rejection or uncaught exception), exit.
// JSON-safe extras: `processCpuMetric` reports this process's own CPU (all test processes share one
// cgroup, whose figure would be the same for all); `burnShard` + `burnMsPerBatch` make that shard's
// processor busy-loop for that long on every batch (a CPU-hungry processor).
import { ProcessCpuWorkerMetric, Scheduler, type SchedulerConfig } from '../../src/index.ts';
import { silentLogger, type Logger } from '../../src/common/logger.ts';

export interface WorkerProcessExtras {
  logWarnings?: boolean;
  processCpuMetric?: boolean;
  burnShard?: string;
  burnMsPerBatch?: number;
}
type WorkerConfig = Omit<SchedulerConfig, 'processorFactory'> & { workerId: string } & WorkerProcessExtras;
const { logWarnings, processCpuMetric, burnShard, burnMsPerBatch = 0, ...parsed } = JSON.parse(process.argv[2]!) as WorkerConfig;
const config: typeof parsed = processCpuMetric
  ? {
      ...parsed,
      lease: {
        ...parsed.lease,
        workerUtilizationAwareAssignment: { ...parsed.lease?.workerUtilizationAwareAssignment, workerMetrics: [new ProcessCpuWorkerMetric()] },
      },
    }
  : parsed;
const emit = (event: Record<string, unknown>): void => void process.stdout.write(JSON.stringify({ w: config.workerId, p: process.pid, at: Date.now(), ...event }) + '\n');

// A crash must be seen by the test, not only end the process: report it, then die as Node would.
process.on('unhandledRejection', (reason) => {
  emit({ t: 'crash', kind: 'unhandledRejection', message: String(reason instanceof Error ? (reason.stack ?? reason) : reason) });
  process.exit(70);
});
process.on('uncaughtException', (err) => {
  emit({ t: 'crash', kind: 'uncaughtException', message: String(err.stack ?? err) });
  process.exit(70);
});

const plain = (obj: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, v instanceof Error ? `${v.name}: ${v.message}` : v]));
const line =
  (level: string) =>
  (objOrMsg: object | string, msg?: string): void =>
    typeof objOrMsg === 'string' ? emit({ t: 'log', level, msg: objOrMsg }) : emit({ t: 'log', level, msg, ...plain(objOrMsg) });
const noop = (): void => {};
const logger: Logger = { debug: noop, info: noop, warn: line('warn'), error: line('error') };

/** Spins the CPU (no sleeping: the point is to be measured as busy). */
function burn(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* busy */
  }
}

/** Checkpoints and reports the value: `cp` once it is stored, `cpFail` (then rethrows) when it is refused. */
async function checkpointed(shardId: string, value: string, checkpoint: () => Promise<void>): Promise<void> {
  try {
    await checkpoint();
    emit({ t: 'cp', shardId, seq: value });
  } catch (err) {
    emit({ t: 'cpFail', shardId, seq: value, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    throw err;
  }
}

const scheduler = new Scheduler({
  ...config,
  logger: logWarnings ? logger : silentLogger,
  processorFactory: ({ shardId }) => {
    let last: string | undefined;
    return {
      initialize: ({ extendedSequenceNumber }) => emit({ t: 'init', shardId, from: extendedSequenceNumber.sequenceNumber }),
      processRecords: async ({ records, checkpointer }) => {
        if (records.length === 0) return;
        if (shardId === burnShard) burn(burnMsPerBatch);
        emit({ t: 'rec', shardId, d: records.map((r) => Buffer.from(r.data).toString()), s: records.map((r) => r.sequenceNumber) });
        last = records[records.length - 1]!.sequenceNumber;
        await checkpointed(shardId, last, () => checkpointer.checkpoint());
      },
      leaseLost: () => emit({ t: 'leaseLost', shardId }),
      shardEnded: async ({ checkpointer }) => {
        await checkpointed(shardId, 'SHARD_END', () => checkpointer.checkpoint());
        emit({ t: 'shardEnded', shardId });
      },
      shutdownRequested: async ({ checkpointer }) => {
        if (last !== undefined) await checkpointed(shardId, last, () => checkpointer.checkpoint());
        else await checkpointer.checkpoint();
        emit({ t: 'shutdownRequested', shardId });
      },
    };
  },
});
scheduler.on('leaseAcquired', (shardId) => emit({ t: 'acquired', shardId }));
scheduler.on('leaseLost', (shardId) => emit({ t: 'lost', shardId }));
scheduler.on('error', (err) => emit({ t: 'error', shardId: err.shardId, message: `${err.name}: ${err.message}` }));
// The two lines that make a SIGTERM lossless:
process.once('SIGTERM', () => void scheduler.startGracefulShutdown().then((ok) => emit({ t: 'graceful', ok })));
process.once('SIGINT', () => void scheduler.startGracefulShutdown());
emit({ t: 'started' });
scheduler.run().then(
  () => emit({ t: 'exit' }),
  (err: unknown) => {
    emit({ t: 'fatal', message: String(err) });
    process.exitCode = 1;
  },
);
