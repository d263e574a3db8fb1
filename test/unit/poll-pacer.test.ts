import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PollPacer, MIN_POLL_SPACING_MS, SETTLE_PAGES } from '../../src/retrieval/polling/poll-pacer.ts';

describe('PollPacer', () => {
  it('polls at once first, at the read limit while records come, and backs off on empty pages up to the idle interval', () => {
    const pacer = new PollPacer(1500);
    assert.equal(pacer.spacing(), 0, 'the first call at once');
    pacer.afterPage(10, 0);
    assert.equal(pacer.spacing(), MIN_POLL_SPACING_MS);
    const gaps = [];
    for (let i = 0; i < 5; i++) {
      pacer.afterPage(0, 0);
      gaps.push(pacer.spacing());
    }
    assert.deepEqual(gaps, [400, 800, 1500, 1500, 1500]);
    assert.equal(pacer.slack(), 1500, 'settled at the idle interval: may wait one more to share a wakeup');
    pacer.afterPage(1, 0);
    assert.equal(pacer.spacing(), MIN_POLL_SPACING_MS, 'back at the read limit as soon as records arrive');
    assert.equal(pacer.slack(), 0);
  });

  it('treats an empty page that is behind the tip by at least the idle interval as records to come', () => {
    const pacer = new PollPacer(1000);
    pacer.afterPage(0, 0);
    pacer.afterPage(0, 0);
    assert.equal(pacer.spacing(), 400);
    assert.equal(pacer.slack(), 0, 'still backing off');
    pacer.afterPage(0, 5000);
    assert.equal(pacer.spacing(), MIN_POLL_SPACING_MS);
    pacer.afterPage(0, 999);
    assert.equal(pacer.spacing(), 400);
  });

  it('never polls closer than the read limit, even with the minimum idle interval', () => {
    const pacer = new PollPacer(200);
    for (let i = 1; i <= 4; i++) {
      pacer.afterPage(0, 0);
      assert.equal(pacer.spacing(), 200);
      assert.equal(pacer.slack(), i >= SETTLE_PAGES ? 200 : 0, `after ${i} empty pages`);
    }
    pacer.afterPage(3, 0);
    assert.equal(pacer.slack(), 0, 'a page with records ends the slack, at the same spacing');
    pacer.afterPage(0, 0);
    pacer.afterPage(0, 0);
    assert.equal(pacer.slack(), 0, 'and it takes SETTLE_PAGES empty pages again to come back');
  });
});
