import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blockingParent, waitsForMissingParents } from '../../src/lifecycle/block-on-parent.ts';
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
  it('a child that has not started waits for a lease-less parent unless that parent is known gone', () => {
    const missing = new Map<string, Lease | undefined>([['a', lease('a', 'SHARD_END')], ['b', undefined]]);
    assert.equal(blockingParent(['a', 'b'], missing, new Set()), 'b', 'b exists in the stream: wait (its lease gets created)');
    assert.equal(blockingParent(['a', 'b'], missing, new Set(['b'])), undefined, 'b is gone from the stream');
    assert.equal(blockingParent(['a', 'b'], missing, 'all'), undefined, 'a started child: a missing lease was cleaned up');
    assert.equal(blockingParent(['a', 'b'], new Map([['a', lease('a', '5')], ['b', undefined]]), new Set(['b'])), 'a', 'a leased parent still blocks');
  });
  it('only a TRIM_HORIZON child asks about missing parents (LATEST/AT_TIMESTAMP never replay what predates them)', () => {
    assert.equal(waitsForMissingParents(lease('c', 'TRIM_HORIZON')), true);
    for (const cp of ['LATEST', 'AT_TIMESTAMP', '12345', 'SHARD_END']) assert.equal(waitsForMissingParents(lease('c', cp)), false, cp);
  });
});
