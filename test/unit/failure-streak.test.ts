import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FailureStreak } from '../../src/retrieval/failure-streak.ts';
import type { Logger } from '../../src/common/logger.ts';

function recordingLogger(): { logger: Logger; lines: { level: string; msg: string | undefined }[] } {
  const lines: { level: string; msg: string | undefined }[] = [];
  const at = (level: string) => (_obj?: unknown, msg?: string): void => void lines.push({ level, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('FailureStreak', () => {
  it('WARNs and reports once per streak, backs off exponentially up to the cap, and says INFO once on recovery', () => {
    const { logger, lines } = recordingLogger();
    const reported: unknown[] = [];
    const streak = new FailureStreak(logger, (err) => reported.push(err), { baseMs: 100, capMs: 1000, random: () => 1 });
    const delays = Array.from({ length: 6 }, () => streak.fail(new Error('boom'), 'loud', 'failed'));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    assert.equal(reported.length, 1);
    assert.deepEqual(lines.map((l) => l.level), ['warn', 'debug', 'debug', 'debug', 'debug', 'debug']);
    streak.succeed();
    assert.equal(lines.at(-1)?.level, 'info');
    assert.equal(streak.count, 0);
    streak.fail(new Error('again'), 'loud', 'failed');
    assert.equal(reported.length, 2, 'a new streak is reported again');
  });

  it('quiet failures (throttling, an expired iterator) log INFO, are never reported, and the first can retry at once', () => {
    const { logger, lines } = recordingLogger();
    const reported: unknown[] = [];
    const streak = new FailureStreak(logger, (err) => reported.push(err), { baseMs: 100, capMs: 1000, random: () => 0 });
    assert.equal(streak.fail(new Error('expired'), 'quiet', 'expired', {}, true), 0);
    assert.equal(streak.fail(new Error('expired'), 'quiet', 'expired', {}, true), 50, 'a repeat backs off');
    assert.deepEqual(lines.map((l) => l.level), ['info', 'info']);
    assert.equal(reported.length, 0);
    streak.succeed();
    assert.equal(lines.length, 2, 'no recovery line for a streak that never warned');
  });

  it('WARNs again while a streak lasts, at most once per warnIntervalMs', () => {
    const { logger, lines } = recordingLogger();
    const streak = new FailureStreak(logger, () => undefined, { baseMs: 1, capMs: 1, warnIntervalMs: 0 });
    streak.fail(new Error('a'), 'loud', 'failed');
    streak.fail(new Error('b'), 'loud', 'failed');
    assert.deepEqual(lines.map((l) => l.level), ['warn', 'warn']);
  });
});
