import { Scheduler } from '../coordinator/scheduler.ts';
import { childLogger, stderrLogger, type Logger } from '../common/logger.ts';
import type { ShardRecordProcessorFactory } from '../processor/shard-record-processor.ts';
import type { MultiLangConfig } from './daemon-config.ts';
import { MultiLangShardRecordProcessor } from './multilang-processor.ts';

export interface MultiLangDaemonOptions {
  logger?: Logger;
  /** The children's working directory and environment; default this process's, as the Java daemon. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long a child may take to exit once its stdin is closed. Default 10000. */
  closeGraceMs?: number;
  /** Without timeoutInSeconds, a WARN this often while a child has not answered. Default 60000. */
  slowWarningMs?: number;
}

/**
 * The MultiLangDaemon's role on ts-kcl: one Scheduler (a user of its public API) whose processors
 * are child processes speaking the MultiLang protocol, one per held shard.
 */
export class MultiLangDaemon {
  readonly scheduler: Scheduler;

  constructor(config: MultiLangConfig, options: MultiLangDaemonOptions = {}) {
    const logger = options.logger ?? stderrLogger();
    for (const warning of config.warnings) logger.warn(warning);
    const factory: ShardRecordProcessorFactory = ({ shardId }) =>
      new MultiLangShardRecordProcessor({
        shardId,
        command: config.command,
        cwd: options.cwd ?? process.cwd(),
        env: options.env ?? process.env,
        childTimeoutMs: config.childTimeoutMs,
        slowWarningMs: options.slowWarningMs ?? 60000,
        closeGraceMs: options.closeGraceMs ?? 10000,
        logger: childLogger(logger, { component: 'MultiLang', shardId }),
        releaseLease: (id) => void this.scheduler.releaseLease(id),
      });
    this.scheduler = new Scheduler({ ...config.scheduler, processorFactory: factory, logger });
  }

  /** Runs until shut down; rejects when the worker cannot start. */
  run(): Promise<void> {
    return this.scheduler.run();
  }

  /** SIGTERM: shutdownRequested in every child (they may checkpoint), then leaseLost, then the leases are released. */
  startGracefulShutdown(): Promise<boolean> {
    return this.scheduler.startGracefulShutdown();
  }

  shutdown(): Promise<void> {
    return this.scheduler.shutdown();
  }
}
