// A ts-kcl worker in its own process (bench copy of test/support/worker-process.ts, on dist/).
// Config comes as JSON in argv[2]; it reports what it does as JSON lines on stdout, shuts down
// gracefully on SIGTERM, and exits if its parent goes away (stdin closes).
import './quiet-sdk-warning.js';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../../dist', import.meta.url));
const { Scheduler } = await import(pathToFileURL(path.join(dist, 'index.js')).href);

const config = JSON.parse(process.argv[2]);
const emit = (event) => void process.stdout.write(JSON.stringify({ w: config.workerId, at: Date.now(), ...event }) + '\n');

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
let graceful = Promise.resolve();
process.once('SIGTERM', () => void (graceful = scheduler.startGracefulShutdown().then((ok) => emit({ t: 'graceful', ok }))));
process.once('SIGINT', () => void scheduler.startGracefulShutdown());
process.stdin.on('end', () => process.exit(3));
process.stdin.resume();
emit({ t: 'started' });
scheduler.run().then(
  async () => {
    await graceful;
    emit({ t: 'exit' });
    process.exit(0);
  },
  (err) => {
    emit({ t: 'fatal', message: String(err) });
    process.exit(1);
  },
);
