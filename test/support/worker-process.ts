// A ts-kcl worker in its own process, for multi-worker tests. Config comes as JSON in argv[2];
// it reports what it does as JSON lines on stdout, and shuts down gracefully on SIGTERM.
import { Scheduler, type SchedulerConfig } from '../../src/index.ts';

const config = JSON.parse(process.argv[2]!) as Omit<SchedulerConfig, 'processorFactory'> & { checkpointEvery?: number };
const emit = (event: Record<string, unknown>): void => void process.stdout.write(JSON.stringify({ w: config.workerId, at: Date.now(), ...event }) + '\n');

const scheduler = new Scheduler({
  ...config,
  processorFactory: ({ shardId }) => ({
    initialize: ({ extendedSequenceNumber }) => emit({ t: 'init', shardId, from: extendedSequenceNumber.sequenceNumber }),
    processRecords: async ({ records, checkpointer }) => {
      if (records.length === 0) return;
      emit({ t: 'rec', shardId, d: records.map((r) => Buffer.from(r.data).toString()) });
      await checkpointer.checkpoint();
    },
    leaseLost: () => emit({ t: 'leaseLost', shardId }),
    shardEnded: async ({ checkpointer }) => {
      await checkpointer.checkpoint();
      emit({ t: 'shardEnded', shardId });
    },
    shutdownRequested: async ({ checkpointer }) => {
      await checkpointer.checkpoint();
      emit({ t: 'shutdownRequested', shardId });
    },
  }),
});
scheduler.on('leaseAcquired', (shardId) => emit({ t: 'acquired', shardId }));
scheduler.on('leaseLost', (shardId) => emit({ t: 'lost', shardId }));
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
