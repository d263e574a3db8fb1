import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { Scheduler } from '../coordinator/scheduler.ts';
import { consoleLogger } from '../common/logger.ts';
import type { ShardRecordProcessor, ShardRecordProcessorFactory } from '../processor/shard-record-processor.ts';
import { clientConfigFrom } from './aws-options.ts';

/** The module's default export: a factory `(shard) => processor`, or a class with a no-argument/shard constructor. */
export async function loadProcessorFactory(path: string): Promise<ShardRecordProcessorFactory> {
  const mod = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  const exported = mod.default;
  if (typeof exported !== 'function') throw new Error(`${path} must have a default export: a processor factory function or class`);
  const isClass = /^class\s/.test(Function.prototype.toString.call(exported));
  if (isClass) {
    const Ctor = exported as new (shard: { shardId: string; streamName: string }) => ShardRecordProcessor;
    return (shard) => new Ctor(shard);
  }
  return exported as ShardRecordProcessorFactory;
}

/** `ts-kcl run`: one worker until SIGTERM/SIGINT, then a graceful shutdown. */
export async function runWorker(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      app: { type: 'string' },
      stream: { type: 'string' },
      processor: { type: 'string' },
      'initial-position': { type: 'string', default: 'LATEST' },
      'kinesis-endpoint': { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      region: { type: 'string' },
      'worker-id': { type: 'string' },
      'failover-time-ms': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    },
  });
  if (!values.app) throw new Error('--app is required: the application name (lease table)');
  if (!values.stream) throw new Error('--stream is required: the Kinesis stream name');
  if (!values.processor) throw new Error('--processor is required: a module whose default export is the record processor');
  const position = values['initial-position'];
  if (position !== 'LATEST' && position !== 'TRIM_HORIZON') throw new Error('--initial-position must be LATEST or TRIM_HORIZON');
  const scheduler = new Scheduler({
    applicationName: values.app,
    streamName: values.stream,
    processorFactory: await loadProcessorFactory(values.processor),
    initialPosition: position,
    clientConfig: clientConfigFrom(values),
    logger: consoleLogger(values['log-level'] as 'info'),
    ...(values['worker-id'] ? { workerId: values['worker-id'] } : {}),
    ...(values['failover-time-ms'] ? { lease: { failoverTimeMs: Number(values['failover-time-ms']) } } : {}),
  });
  // The two lines that give every processor a chance to checkpoint before the process exits:
  process.once('SIGTERM', () => void scheduler.startGracefulShutdown());
  process.once('SIGINT', () => void scheduler.startGracefulShutdown());
  await scheduler.run();
  return 0;
}
