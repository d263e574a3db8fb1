import { Scheduler } from '../coordinator/scheduler.ts';
import { consoleLogger } from '../common/logger.ts';
import type { SchedulerConfig } from '../config.ts';
import { AWS_FLAGS, clientConfigFrom } from './aws-options.ts';
import { parseFlags, type CommandSpec } from './flags.ts';
import { loadProcessorFactory } from './processor-module.ts';

export const RUN: CommandSpec = {
  name: 'run',
  summary: 'One worker of an application: the processor module\'s default export processes the stream\'s records until SIGTERM/SIGINT, then a graceful shutdown.',
  flags: {
    app: { kind: 'string', value: 'NAME', help: 'application name (the lease table)', required: true },
    stream: { kind: 'string', value: 'NAME', help: 'the Kinesis stream name', required: true },
    processor: { kind: 'string', value: 'FILE', help: 'module (.js, .mjs, or .ts where Node can load it) whose default export is a processor factory or class', required: true },
    'initial-position': { kind: 'string', value: 'LATEST|TRIM_HORIZON', help: 'where a shard without a checkpoint starts', default: 'LATEST' },
    retrieval: { kind: 'string', value: 'polling|fanout', help: 'GetRecords polling or enhanced fan-out (SubscribeToShard)', default: 'polling' },
    ...AWS_FLAGS,
    'worker-id': { kind: 'string', value: 'ID', help: 'this worker\'s id (default: host name and a random suffix)' },
    'failover-time-ms': { kind: 'duration', help: 'lease failover time: 10s, 500ms or plain ms (default 10s)' },
    'log-level': { kind: 'string', value: 'debug|info|warn|error', help: 'JSON log lines on stderr from this level up', default: 'info' },
  },
  notes: ['Example: ts-kcl run --app my-app --stream my-stream --processor ./processor.js --initial-position TRIM_HORIZON'],
};

/** `ts-kcl run`: one worker until SIGTERM/SIGINT, then a graceful shutdown. */
export async function runWorker(args: string[]): Promise<number> {
  const flags = parseFlags(RUN, args);
  if (!flags) return 0;
  const position = flags.oneOf('initial-position', ['LATEST', 'TRIM_HORIZON'] as const)!;
  const mode = flags.oneOf('retrieval', ['polling', 'fanout'] as const)!;
  const level = flags.oneOf('log-level', ['debug', 'info', 'warn', 'error'] as const)!;
  const failoverTimeMs = flags.duration('failover-time-ms');
  const stream = flags.required('stream');
  const config: SchedulerConfig = {
    applicationName: flags.required('app'),
    streamName: stream,
    processorFactory: await loadProcessorFactory(flags.required('processor'), stream),
    initialPosition: position,
    retrieval: { mode },
    clientConfig: clientConfigFrom(flags),
    logger: consoleLogger(level),
    ...(flags.string('worker-id') ? { workerId: flags.string('worker-id')! } : {}),
    ...(failoverTimeMs !== undefined ? { lease: { failoverTimeMs } } : {}),
  };
  const scheduler = new Scheduler(config);
  // The two lines that give every processor a chance to checkpoint before the process exits:
  process.once('SIGTERM', () => void scheduler.startGracefulShutdown());
  process.once('SIGINT', () => void scheduler.startGracefulShutdown());
  await scheduler.run();
  return 0;
}
