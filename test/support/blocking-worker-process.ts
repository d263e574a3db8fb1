// A ts-kcl worker in its own process whose processor, once told to (a "block" line on stdin), blocks
// the event loop synchronously for `blockMs` in one processRecords call. Config is JSON in argv[2];
// it reports JSON lines on stdout: leases acquired and lost, the block, WARN logs, EventLoopLag metrics.
import { createInterface } from 'node:readline';
import { Scheduler, type SchedulerConfig } from '../../src/index.ts';

const config = JSON.parse(process.argv[2]!) as Omit<SchedulerConfig, 'processorFactory'> & { blockMs: number; credentialsProvider?: boolean };
// The keys given, but through a provider function with an expiry (as STS or SSO credentials come).
if (config.credentialsProvider && config.clientConfig?.credentials && typeof config.clientConfig.credentials === 'object') {
  const keys = config.clientConfig.credentials;
  config.clientConfig.credentials = () => Promise.resolve({ ...keys, expiration: new Date(Date.now() + 3600000) });
}
const emit = (event: Record<string, unknown>): void => void process.stdout.write(JSON.stringify({ at: Date.now(), ...event }) + '\n');
let armed = false;
let blocked = false;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'block') armed = true;
});

const warn = (objOrMsg: object | string, msg?: string): void => emit({ t: 'warn', msg: typeof objOrMsg === 'string' ? objOrMsg : msg, ...(typeof objOrMsg === 'object' ? objOrMsg : {}) });
const scheduler = new Scheduler({
  ...config,
  logger: { debug: () => {}, info: () => {}, warn, error: warn },
  metrics: { sinks: [{ record: (d) => d.name === 'EventLoopLag' && emit({ t: 'metric', name: d.name, operation: d.dimensions.Operation, max: d.max }) }] },
  processor: { callProcessRecordsEvenForEmptyRecordList: true },
  processorFactory: ({ shardId }) => ({
    initialize: () => {},
    processRecords: () => {
      if (!armed || blocked) return;
      blocked = true;
      emit({ t: 'blockStart', shardId });
      const end = performance.now() + config.blockMs;
      while (performance.now() < end); // CPU-bound, synchronous: nothing else runs on this thread
      emit({ t: 'blockEnd', shardId });
    },
    leaseLost: () => emit({ t: 'leaseLost', shardId }),
    shardEnded: () => {},
    shutdownRequested: () => {},
  }),
});
scheduler.on('leaseAcquired', (shardId) => emit({ t: 'acquired', shardId }));
scheduler.on('leaseLost', (shardId) => emit({ t: 'lost', shardId }));
process.once('SIGTERM', () => void scheduler.shutdown());
scheduler.run().then(
  () => emit({ t: 'exit' }),
  (err: unknown) => {
    emit({ t: 'fatal', message: String(err) });
    process.exitCode = 1;
  },
);
