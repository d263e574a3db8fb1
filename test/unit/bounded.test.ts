import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mapBounded, settleBounded } from '../../src/common/bounded.ts';

describe('bounded concurrency', () => {
  it('keeps at most `limit` calls in flight and the results in input order', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60]);
    assert.equal(most, 3);
  });

  it('settles every call, failures included, as Promise.allSettled does', async () => {
    const out = await settleBounded([1, 2, 3], 2, (n) => (n === 2 ? Promise.reject(new Error('two')) : Promise.resolve(n)));
    assert.deepEqual(out.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((out[1] as PromiseRejectedResult).reason.message, 'two');
  });
});
