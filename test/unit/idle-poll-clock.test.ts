import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
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
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

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

  it('keeps a poll apart from a wakeup planned past its own slack', async () => {
    const clock = new IdlePollClock();
    const now = performance.now();
    const planned = clock.wait(now + 150, 200, never);
    const hurried = clock.wait(now + 10, 50, never); // must wake by now + 60
    assert.equal(clock.planned, 2);
    const [a, b] = await timed([planned, hurried]);
    assert.ok(b!.at >= now + 10 && b!.at < now + 100, `the hurried poll woke at +${(b!.at - now).toFixed(0)} ms`);
    assert.ok(a!.at >= now + 150);
  });

  it('holds every member\'s latest time: a poll due past the earliest of them waits apart', async () => {
    const clock = new IdlePollClock();
    const now = performance.now();
    const a = clock.wait(now + 10, 500, never);
    const b = clock.wait(now + 20, 30, never); // joins; the wakeup must now fire by now + 50
    const c = clock.wait(now + 200, 500, never); // fits a's slack, not b's
    assert.equal(clock.planned, 2);
    const [wa, wb, wc] = await timed([a, b, c]);
    assert.equal(wa!.task, wb!.task);
    assert.ok(wb!.at < now + 120, `b woke at +${(wb!.at - now).toFixed(0)} ms`);
    assert.ok(wc!.at >= now + 200);
  });

  it('leaves no abort listener behind on a signal whose wait was woken', async () => {
    const stop = new AbortController();
    const clock = new IdlePollClock();
    for (let i = 0; i < 3; i++) await clock.wait(performance.now() + 5, 50, stop.signal);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
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
    const idleTimers = timers();
    const alone = new AbortController();
    const last = clock.wait(performance.now() + 10000, 0, alone.signal);
    assert.equal(timers(), idleTimers + 1);
    alone.abort();
    await last;
    assert.equal(clock.planned, 0);
    assert.equal(timers(), idleTimers, 'no timer left behind');
    assert.equal(getEventListeners(alone.signal, 'abort').length, 0);
    alone.abort();
    await clock.wait(performance.now() + 10000, 0, alone.signal); // already aborted: at once
  });
});
