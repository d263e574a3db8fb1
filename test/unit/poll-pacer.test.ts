import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PollPacer, MIN_POLL_SPACING_MS } from '../../src/retrieval/polling/poll-pacer.ts';

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
    assert.equal(pacer.isIdle(), true, 'idle once backed off to the idle interval');
    pacer.afterPage(1, 0);
    assert.equal(pacer.spacing(), MIN_POLL_SPACING_MS, 'back at the read limit as soon as records arrive');
    assert.equal(pacer.isIdle(), false);
  });

  it('treats an empty page that is behind the tip by at least the idle interval as records to come', () => {
    const pacer = new PollPacer(1000);
    pacer.afterPage(0, 0);
    pacer.afterPage(0, 0);
    assert.equal(pacer.spacing(), 400);
    assert.equal(pacer.isIdle(), false, 'still backing off');
    pacer.afterPage(0, 5000);
    assert.equal(pacer.spacing(), MIN_POLL_SPACING_MS);
    pacer.afterPage(0, 999);
    assert.equal(pacer.spacing(), 400);
  });

  it('never polls closer than the read limit, even with the minimum idle interval', () => {
    const pacer = new PollPacer(200);
    for (let i = 0; i < 4; i++) {
      pacer.afterPage(0, 0);
      assert.equal(pacer.spacing(), 200);
      assert.equal(pacer.isIdle(), true, 'an empty page at the tip is idle at once');
    }
    pacer.afterPage(3, 0);
    assert.equal(pacer.isIdle(), false, 'a page with records is not, at the same spacing');
  });
});
