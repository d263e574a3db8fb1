import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdlePollClock } from '../../src/retrieval/polling/idle-poll-clock.ts';

/** Each wait's resolution time and the macrotask it resolved in (a counter a setImmediate chain moves on). */
async function timed(waits: Array<Promise<void>>): Promise<Array<{ at: number; task: number }>> {
  let task = 0;
  let ticking = true;
  const tick = (): void => {
    task++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return await Promise.all(waits.map((w) => w.then(() => ({ at: performance.now(), task }))));
  } finally {
    ticking = false;
  }
}

const never = new AbortController().signal;

describe('IdlePollClock', () => {
  it('wakes polls due within each other\'s slack together, at the latest due time, never before any', async () => {
    const clock = new IdlePollClock();
    const now = performance.now();
    const dues = [now + 60, now + 20, now + 100, now + 45];
    const woke = await timed(dues.map((due) => clock.wait(due, 200, never)));
    for (const [i, w] of woke.entries()) assert.ok(w.at >= dues[i]!, `poll ${i} woke ${(dues[i]! - w.at).toFixed(1)} ms early`);
    assert.equal(new Set(woke.map((w) => w.task)).size, 1, 'one wakeup for all four');
    assert.ok(woke[0]!.at < now + 100 + 60, 'at the latest due time, not a slack later');
    assert.equal(clock.planned, 0);
  });

  it('keeps a poll apart when joining would take another past its slack', async () => {
    const clock = new IdlePollClock();
    const now = performance.now();
    const early = clock.wait(now + 20, 30, never); // may wake no later than now + 50
    const late = clock.wait(now + 120, 200, never);
    assert.equal(clock.planned, 2);
    const [a, b] = await timed([early, late]);
    assert.ok(a!.at >= now + 20 && a!.at < now + 100, `the early poll woke at +${(a!.at - now).toFixed(0)} ms`);
    assert.ok(b!.at >= now + 120);
    assert.notEqual(a!.task, b!.task);
  });

  it('lets a poll wait for a wakeup planned later within its slack (how shards on different phases meet)', async () => {
    const clock = new IdlePollClock();
    const now = performance.now();
    const planned = clock.wait(now + 150, 200, never);
    const soon = clock.wait(now + 10, 200, never);
    assert.equal(clock.planned, 1);
    const [a, b] = await timed([planned, soon]);
    assert.equal(a!.task, b!.task);
    assert.ok(b!.at >= now + 150);
  });

  it('puts no more than maxPerWakeup polls on one wakeup', async () => {
    const clock = new IdlePollClock(3);
    const now = performance.now();
    const waits = Array.from({ length: 7 }, () => clock.wait(now + 30, 100, never));
    assert.equal(clock.planned, 3, 'seven polls on wakeups of 3, 3 and 1');
    await Promise.all(waits);
    assert.equal(clock.planned, 0);
  });

  it('ends a wait at once when its signal aborts, leaving the others planned and nothing behind when the last goes', async () => {
    const clock = new IdlePollClock();
    const now = performance.now();
    const stop = new AbortController();
    const aborted = clock.wait(now + 5000, 1000, stop.signal);
    const other = clock.wait(now + 40, 5000, never);
    assert.equal(clock.planned, 1);
    const t0 = performance.now();
    stop.abort();
    await aborted;
    assert.ok(performance.now() - t0 < 50, 'resolved at once');
    const [w] = await timed([other]);
    assert.ok(w!.at >= now + 40 && w!.at < now + 1000, `the other woke at +${(w!.at - now).toFixed(0)} ms: the aborted poll no longer held it back`);
    const alone = new AbortController();
    const last = clock.wait(performance.now() + 10000, 0, alone.signal);
    alone.abort();
    await last;
    assert.equal(clock.planned, 0, 'no timer left behind');
    alone.abort();
    await clock.wait(performance.now() + 10000, 0, alone.signal); // already aborted: at once
  });
});
