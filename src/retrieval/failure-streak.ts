import { backoffDelay } from '../common/backoff.ts';
import { errorFields, type Logger } from '../common/logger.ts';

/**
 * How a failure is told: `quiet` ones are expected now and then (throttling, an expired iterator) and
 * logged at INFO each time; `loud` ones are logged at WARN and reported once per streak.
 */
export type FailureKind = 'quiet' | 'loud';

export interface FailureStreakOptions {
  /** First backoff; each consecutive failure doubles it (jittered) up to `capMs`. */
  baseMs: number;
  capMs: number;
  /** While a streak lasts, WARN (and report) again at most this often. */
  warnIntervalMs?: number;
  random?: () => number;
}

/**
 * Consecutive failures of one retrieval loop: the jittered exponential backoff before the next attempt,
 * and logging that cannot flood (WARN at the first loud failure of a streak, then at most once per
 * `warnIntervalMs`, one INFO when it recovers). Every loud WARN is also reported (the Scheduler's `error`
 * event), so a shard that keeps failing is never silent, and one that fails 2,000 times says so a few times.
 */
export class FailureStreak {
  private failures = 0;
  private lastWarnAt = -Infinity;
  private warned = false;
  private startedAt = 0;

  constructor(
    private readonly logger: Logger,
    private readonly report: (err: unknown) => void,
    private readonly options: FailureStreakOptions,
  ) {}

  /** Consecutive failures so far. */
  get count(): number {
    return this.failures;
  }

  /**
   * Records one failure; returns how long to wait before the next attempt. The first failure of a
   * streak waits nothing when `retryAtOnce` (an expired iterator is reopened at once, as Java does).
   */
  fail(err: unknown, kind: FailureKind, message: string, fields: Record<string, unknown> = {}, retryAtOnce = false): number {
    const attempt = this.failures++;
    const now = performance.now();
    if (attempt === 0) this.startedAt = now;
    const log = { ...fields, consecutiveFailures: this.failures, ...errorFields(err) };
    if (kind === 'quiet') {
      this.logger.info(log, message);
    } else if (now - this.lastWarnAt >= (this.options.warnIntervalMs ?? 60000)) {
      this.lastWarnAt = now;
      this.warned = true;
      this.logger.warn(log, message);
      this.report(err);
    } else {
      this.logger.debug(log, message);
    }
    if (attempt === 0 && retryAtOnce) return 0;
    return backoffDelay(attempt, this.options.baseMs, this.options.capMs, this.options.random);
  }

  /** A success ends the streak. */
  succeed(): void {
    if (this.failures === 0) return;
    if (this.warned) this.logger.info({ failures: this.failures, streakMs: Math.round(performance.now() - this.startedAt) }, 'Recovered after consecutive failures');
    this.failures = 0;
    this.warned = false;
    this.lastWarnAt = -Infinity;
  }
}
