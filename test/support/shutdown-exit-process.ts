// A Scheduler in its own process that starts, holds its leases, calls shutdown() and then does
// nothing: the process must exit by itself (no renewal thread or timer left behind). Config is JSON
// in argv[2]; it prints JSON lines: what it logged at INFO, and when it shut down.
import { Scheduler, type SchedulerConfig } from '../../src/index.ts';

const config = JSON.parse(process.argv[2]!) as Omit<SchedulerConfig, 'processorFactory'>;
const emit = (event: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(event) + '\n');
const log = (level: string) => (objOrMsg: object | string, msg?: string) => emit({ t: 'log', level, msg: typeof objOrMsg === 'string' ? objOrMsg : msg });

const scheduler = new Scheduler({
  ...config,
  logger: { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') },
  processorFactory: () => ({ initialize: () => {}, processRecords: () => {}, leaseLost: () => {}, shardEnded: () => {}, shutdownRequested: () => {} }),
});
scheduler.once('leaseAcquired', () => {
  // Hold the lease through a renewal round first, then stop.
  setTimeout(() => void scheduler.shutdown().then(() => emit({ t: 'shutdown' })), 1500);
});
scheduler.run().then(
  () => emit({ t: 'run-resolved' }),
  (err: unknown) => {
    emit({ t: 'fatal', message: String(err) });
    process.exitCode = 1;
  },
);
