import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blockingParent } from '../../src/lifecycle/block-on-parent.ts';
import type { Lease } from '../../src/leases/lease.ts';
import { testLease } from '../support/leases.ts';

const lease = (leaseKey: string, checkpoint: string): Lease => testLease(leaseKey, undefined, checkpoint);

describe('a child waits for its parents (BlockOnParentShardTask)', () => {
  it('does not block a shard without parents', () => {
    assert.equal(blockingParent([], new Map()), undefined);
  });
  it('blocks while a parent lease exists and has not reached SHARD_END', () => {
    for (const cp of ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP', '12345']) {
      assert.equal(blockingParent(['p'], new Map([['p', lease('p', cp)]])), 'p', cp);
    }
  });
  it('lets the child start once the parent ended', () => {
    assert.equal(blockingParent(['p'], new Map([['p', lease('p', 'SHARD_END')]])), undefined);
  });
  it('is not blocked by a parent whose lease is gone (cleaned up, or before the start position)', () => {
    assert.equal(blockingParent(['p'], new Map([['p', undefined]])), undefined);
  });
  it('a merge child waits for both parents, not just one', () => {
    const oneDone = new Map([
      ['a', lease('a', 'SHARD_END')],
      ['b', lease('b', '99')],
    ]);
    assert.equal(blockingParent(['a', 'b'], oneDone), 'b');
    oneDone.set('b', lease('b', 'SHARD_END'));
    assert.equal(blockingParent(['a', 'b'], oneDone), undefined);
    assert.equal(blockingParent(['a', 'b'], new Map([['a', lease('a', 'SHARD_END')], ['b', undefined]])), undefined);
  });
});
