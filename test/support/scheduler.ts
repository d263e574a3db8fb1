import { Scheduler, type SchedulerConfig } from '../../src/index.ts';
import type { TestEnv } from './env.ts';
import { silentLogger } from '../../src/common/logger.ts';

/** A Scheduler with test-speed timings against the test env; overrides win. */
export function testScheduler(env: TestEnv, config: Partial<SchedulerConfig> & Pick<SchedulerConfig, 'applicationName' | 'processorFactory'>): Scheduler {
  return new Scheduler({
    logger: silentLogger, // tests assert on events; a test that wants the log passes its own
    clientConfig: env.clientConfig,
    initialPosition: 'TRIM_HORIZON',
    retrieval: { mode: 'polling', idleTimeBetweenReadsMs: 200 },
    ...config,
    lease: { failoverTimeMs: 3000, takerIntervalMs: 500, shardSyncIntervalMs: 2000, ...config.lease },
    coordinator: { initializationBackoffMs: 100, maxInitializationAttempts: 3, parentShardPollIntervalMs: 200, gracefulShutdownTimeoutMs: 10000, ...config.coordinator },
    lifecycle: { taskBackoffTimeMs: 100, ...config.lifecycle },
  });
}

/** Runs the scheduler in the background; a start failure fails the test through the returned promise. */
export function start(scheduler: Scheduler): Promise<void> {
  const running = scheduler.run();
  running.catch(() => undefined); // observed by the caller when it awaits
  return running;
}
