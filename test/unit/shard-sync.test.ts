import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { childrenOf, determineNewLeases, newLease, withParentLeases } from '../../src/leases/hierarchical-shard-syncer.ts';
import { garbageCandidates, leasesToDelete } from '../../src/leases/lease-cleanup.ts';
import type { Lease } from '../../src/leases/lease.ts';
import type { ShardInfo } from '../../src/retrieval/shard-detector.ts';
import { TRIM_HORIZON, esn, type ExtendedSequenceNumber } from '../../src/retrieval/extended-sequence-number.ts';

const id = (n: number): string => `shardId-${String(n).padStart(12, '0')}`;
const MAX = (2n ** 128n - 1n).toString();
const HALF = (2n ** 127n).toString();
const HALF_1 = (2n ** 127n - 1n).toString();
const QUARTER = (2n ** 126n).toString();
const QUARTER_1 = (2n ** 126n - 1n).toString();

function shard(n: number, range: [string, string], opts: { parent?: number; adjacent?: number; closed?: boolean } = {}): ShardInfo {
  return {
    shardId: id(n),
    ...(opts.parent === undefined ? {} : { parentShardId: id(opts.parent) }),
    ...(opts.adjacent === undefined ? {} : { adjacentParentShardId: id(opts.adjacent) }),
    hashKeyRange: { startingHashKey: range[0], endingHashKey: range[1] },
    startingSequenceNumber: `4959${n}00000000000000000000000000000000000000000000000000`,
    ...(opts.closed ? { endingSequenceNumber: `4959${n}99999999999999999999999999999999999999999999999999` } : {}),
  };
}

/*
 * A stream with a split and a merge in its history:
 *   0 [0, 2^127)  -- split --> 2 [0, 2^126), 3 [2^126, 2^127)
 *   1 [2^127, 2^128)
 *   3 + 1 -- merge --> 4 [2^126, 2^128)
 * Open: 2 and 4.
 */
const S0 = shard(0, ['0', HALF_1], { closed: true });
const S1 = shard(1, [HALF, MAX], { closed: true });
const S2 = shard(2, ['0', QUARTER_1], { parent: 0 });
const S3 = shard(3, [QUARTER, HALF_1], { parent: 0, closed: true });
const S4 = shard(4, [QUARTER, MAX], { parent: 3, adjacent: 1 });
const HISTORY = [S0, S1, S2, S3, S4];

function lease(leaseKey: string, checkpoint: ExtendedSequenceNumber, extra: Partial<Lease> = {}): Lease {
  return {
    leaseKey,
    leaseOwner: 'worker-1',
    leaseCounter: 5,
    checkpoint,
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    ...extra,
  };
}

/** Leases as `shardId -> checkpoint sequence number`, for compact assertions. */
const summary = (leases: Lease[]): Record<string, string> =>
  Object.fromEntries(leases.map((l) => [l.leaseKey, l.checkpoint.sequenceNumber]).sort(([a], [b]) => a!.localeCompare(b!)));

const byKey = (leases: Lease[], key: string): Lease => {
  const l = leases.find((x) => x.leaseKey === key);
  assert.ok(l, `no lease for ${key}`);
  return l;
};

describe('determineNewLeases', () => {
  describe('empty lease table', () => {
    it('TRIM_HORIZON: every shard gets a TRIM_HORIZON lease', () => {
      const created = determineNewLeases(HISTORY, [], 'TRIM_HORIZON');
      assert.deepEqual(summary(created), {
        [id(0)]: 'TRIM_HORIZON',
        [id(1)]: 'TRIM_HORIZON',
        [id(2)]: 'TRIM_HORIZON',
        [id(3)]: 'TRIM_HORIZON',
        [id(4)]: 'TRIM_HORIZON',
      });
    });

    it('AT_TIMESTAMP: every shard gets an AT_TIMESTAMP lease', () => {
      const created = determineNewLeases(HISTORY, [], 'AT_TIMESTAMP');
      assert.deepEqual(summary(created), {
        [id(0)]: 'AT_TIMESTAMP',
        [id(1)]: 'AT_TIMESTAMP',
        [id(2)]: 'AT_TIMESTAMP',
        [id(3)]: 'AT_TIMESTAMP',
        [id(4)]: 'AT_TIMESTAMP',
      });
    });

    it('LATEST: only open shards get leases, at LATEST', () => {
      const created = determineNewLeases(HISTORY, [], 'LATEST');
      assert.deepEqual(summary(created), { [id(2)]: 'LATEST', [id(4)]: 'LATEST' });
    });

    it('new leases carry parentShardIds [parent, adjacentParent], the hash key range, and no owner', () => {
      const created = determineNewLeases(HISTORY, [], 'TRIM_HORIZON');
      assert.deepEqual(byKey(created, id(0)).parentShardIds, []);
      assert.deepEqual(byKey(created, id(2)).parentShardIds, [id(0)]);
      assert.deepEqual(byKey(created, id(3)).parentShardIds, [id(0)]);
      assert.deepEqual(byKey(created, id(4)).parentShardIds, [id(3), id(1)]);
      for (const s of HISTORY) {
        const l = byKey(created, s.shardId);
        assert.deepEqual(l.hashKeyRange, s.hashKeyRange);
        assert.equal(l.leaseOwner, undefined);
        assert.equal('leaseOwner' in l, false, 'no leaseOwner key at all (exactOptionalPropertyTypes)');
        assert.deepEqual(l.childShardIds, []);
        assert.equal(l.ownerSwitchesSinceCheckpoint, 0);
        assert.equal(l.checkpoint.subSequenceNumber, 0);
      }
    });

    it('creates nothing for an empty shard list', () => {
      assert.deepEqual(determineNewLeases([], [], 'TRIM_HORIZON'), []);
    });
  });

  describe('non-empty lease table', () => {
    it('children of a leased parent start at TRIM_HORIZON even with LATEST (a split while nothing ran)', () => {
      const parent = shard(0, ['0', HALF_1], { closed: true });
      const a = shard(2, ['0', QUARTER_1], { parent: 0 });
      const b = shard(3, [QUARTER, HALF_1], { parent: 0 });
      const existing = [lease(id(0), esn('49590000000000000000000000000000000000000000000000000123'))];
      for (const pos of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) {
        const created = determineNewLeases([parent, a, b], existing, pos);
        assert.deepEqual(summary(created), { [id(2)]: 'TRIM_HORIZON', [id(3)]: 'TRIM_HORIZON' }, pos);
        assert.deepEqual(byKey(created, id(2)).parentShardIds, [id(0)]);
      }
    });

    it('fills the gap across two generations (closed intermediate shards included, at TRIM_HORIZON)', () => {
      // 0 (leased) -> 2, 3 ; 3 -> 5, 6. Nothing ran while both splits happened.
      const shards = [
        shard(0, ['0', HALF_1], { closed: true }),
        shard(2, ['0', QUARTER_1], { parent: 0 }),
        shard(3, [QUARTER, HALF_1], { parent: 0, closed: true }),
        shard(5, [QUARTER, '127605887595351923798765477786913079295'], { parent: 3 }),
        shard(6, ['127605887595351923798765477786913079296', HALF_1], { parent: 3 }),
      ];
      const existing = [lease(id(0), esn('123'))];
      const created = determineNewLeases(shards, existing, 'LATEST');
      assert.deepEqual(summary(created), {
        [id(2)]: 'TRIM_HORIZON',
        [id(3)]: 'TRIM_HORIZON',
        [id(5)]: 'TRIM_HORIZON',
        [id(6)]: 'TRIM_HORIZON',
      });
      assert.deepEqual(byKey(created, id(5)).parentShardIds, [id(3)]);
      assert.deepEqual(byKey(created, id(6)).parentShardIds, [id(3)]);
    });

    it('a merge child lists both parents and starts at TRIM_HORIZON', () => {
      const existing = [lease(id(1), esn('10')), lease(id(3), esn('20'))];
      const created = determineNewLeases([S1, S3, S4], existing, 'LATEST');
      assert.deepEqual(summary(created), { [id(4)]: 'TRIM_HORIZON' });
      const merged = byKey(created, id(4));
      assert.deepEqual(merged.parentShardIds, [id(3), id(1)]);
      assert.deepEqual(merged.hashKeyRange, { startingHashKey: QUARTER, endingHashKey: MAX });
    });

    it('a merge child descends from a leased shard through either parent; its other parent gets a lease at the initial position', () => {
      // Only the adjacent parent (1) is leased; 3 is closed and unrelated to any lease (Java gives it one too).
      const created = determineNewLeases([S1, S3, S4], [lease(id(1), esn('10'))], 'LATEST');
      assert.equal(byKey(created, id(4)).checkpoint.sequenceNumber, 'TRIM_HORIZON');
      assert.deepEqual(byKey(created, id(4)).parentShardIds, [id(3), id(1)]);
      assert.equal(byKey(created, id(3)).checkpoint.sequenceNumber, 'LATEST', 'the merge child waits for both parents: none may be unleased');
      assert.equal(created.length, 2);
    });

    it('a merge child leased before its other parent (a split child of a lagging shard): the sync leases that parent', () => {
      // 0 lags (not ended); 1 ended and created 4 from ChildShards; 3 (0's split child) has no lease.
      const existing = [lease(id(0), esn('5')), lease(id(1), esn('SHARD_END')), lease(id(4), TRIM_HORIZON, { parentShardIds: [id(3), id(1)] })];
      for (const pos of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) {
        assert.deepEqual(summary(determineNewLeases(HISTORY, existing, pos)), { [id(2)]: 'TRIM_HORIZON', [id(3)]: 'TRIM_HORIZON' }, pos);
      }
      // Once the merge child has started, 3 is consumed: never recreated.
      const startedChild = existing.map((l) => (l.leaseKey === id(4) ? { ...l, checkpoint: esn('9') } : l));
      assert.deepEqual(summary(determineNewLeases(HISTORY, startedChild, 'TRIM_HORIZON')), { [id(2)]: 'TRIM_HORIZON' });
    });

    it('a listing older than the lease Scan (a split between them) recreates nothing', () => {
      // Listed before 0 split; scanned after: 0 ended, its children leased (one started).
      const stale = [shard(0, ['0', HALF_1]), S1];
      const existing = [
        lease(id(0), esn('SHARD_END'), { childShardIds: [id(2), id(3)] }),
        lease(id(1), esn('4')),
        lease(id(2), esn('6'), { parentShardIds: [id(0)] }),
        lease(id(3), TRIM_HORIZON, { parentShardIds: [id(0)] }),
      ];
      for (const pos of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) assert.deepEqual(determineNewLeases(stale, existing, pos), [], pos);
    });

    it('a listing older than the Scan by a generation: lineage from the leases keeps consumed shards dead', () => {
      // Listed: 0 closed, 2 and 3 open. Scanned later: 3 split into 5 and 6, both started, 0 and 3 cleaned up.
      const stale = [S0, S2, shard(3, [QUARTER, HALF_1], { parent: 0 })];
      const existing = [lease(id(2), esn('6'), { parentShardIds: [id(0)] }), lease(id(5), esn('8'), { parentShardIds: [id(3)] }), lease(id(6), esn('9'), { parentShardIds: [id(3)] })];
      for (const pos of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) assert.deepEqual(determineNewLeases(stale, existing, pos), [], pos);
    });

    it('descends through a leased parent that is no longer listed (past retention)', () => {
      const child = shard(9, ['0', MAX], { parent: 8 });
      const created = determineNewLeases([child], [lease(id(8), esn('1'))], 'LATEST');
      assert.deepEqual(summary(created), { [id(9)]: 'TRIM_HORIZON' });
    });

    it('shards unrelated to any lease get the initial position', () => {
      const existing = [lease(id(0), esn('1')), lease(id(2), esn('2'))];
      const unrelatedOpen = shard(10, ['0', MAX]);
      const unrelatedClosed = shard(11, ['0', MAX], { closed: true });
      const orphan = shard(12, ['0', MAX], { parent: 99 }); // parent neither listed nor leased
      const shards = [S0, S2, unrelatedOpen, unrelatedClosed, orphan];
      assert.deepEqual(summary(determineNewLeases(shards, existing, 'LATEST')), { [id(10)]: 'LATEST', [id(12)]: 'LATEST' });
      assert.deepEqual(summary(determineNewLeases(shards, existing, 'TRIM_HORIZON')), {
        [id(10)]: 'TRIM_HORIZON',
        [id(11)]: 'TRIM_HORIZON',
        [id(12)]: 'TRIM_HORIZON',
      });
      assert.deepEqual(summary(determineNewLeases(shards, existing, 'AT_TIMESTAMP')), {
        [id(10)]: 'AT_TIMESTAMP',
        [id(11)]: 'AT_TIMESTAMP',
        [id(12)]: 'AT_TIMESTAMP',
      });
    });

    it('never recreates an existing lease', () => {
      const existing = HISTORY.map((s) => lease(s.shardId, esn('7')));
      for (const pos of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) assert.deepEqual(determineNewLeases(HISTORY, existing, pos), [], pos);
      // Partially leased: only the missing ones are created, except ancestors of a leased shard
      // (S3 and S1 are parents of the leased S4: consumed and cleaned up, never read again).
      const some = [lease(id(0), esn('1')), lease(id(2), esn('2')), lease(id(4), esn('3'))];
      assert.deepEqual(summary(determineNewLeases(HISTORY, some, 'TRIM_HORIZON')), {});
      const upper = [lease(id(0), esn('1')), lease(id(2), esn('2'))];
      assert.deepEqual(summary(determineNewLeases(HISTORY, upper, 'TRIM_HORIZON')), { [id(1)]: 'TRIM_HORIZON', [id(3)]: 'TRIM_HORIZON', [id(4)]: 'TRIM_HORIZON' });
      // Ended (SHARD_END) leases count as existing too.
      const ended = [lease(id(0), esn('SHARD_END'))];
      const created = determineNewLeases([S0, S2, S3], ended, 'LATEST');
      assert.deepEqual(summary(created), { [id(2)]: 'TRIM_HORIZON', [id(3)]: 'TRIM_HORIZON' });
    });

    it('never recreates a cleaned-up ancestor of a leased shard (it would be read twice)', () => {
      // S0 ended and was deleted after its children S2 and S3 started.
      const afterCleanup = [lease(id(1), esn('5')), lease(id(2), esn('6')), lease(id(3), esn('7'))];
      for (const pos of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) {
        assert.ok(!determineNewLeases(HISTORY, afterCleanup, pos).some((l) => l.leaseKey === id(0)), pos);
      }
      // Two generations later only the merge child is leased: no ancestor comes back.
      assert.deepEqual(summary(determineNewLeases(HISTORY, [lease(id(2), esn('6')), lease(id(4), esn('8'))], 'TRIM_HORIZON')), {});
    });

    it('handles a long chain of generations', () => {
      const chain: ShardInfo[] = [shard(0, ['0', MAX], { closed: true })];
      for (let n = 1; n <= 60; n++) chain.push(shard(n, ['0', MAX], { parent: n - 1, closed: n < 60 }));
      const created = determineNewLeases(chain, [lease(id(0), esn('1'))], 'LATEST');
      assert.equal(created.length, 60);
      assert.ok(created.every((l) => l.checkpoint.sequenceNumber === 'TRIM_HORIZON'));
      // Without a lease at the root, LATEST gives a lease only to the open tip.
      assert.deepEqual(summary(determineNewLeases(chain, [], 'LATEST')), { [id(60)]: 'LATEST' });
    });
  });

  it('newLease builds an unowned lease at the given checkpoint', () => {
    const l = newLease(S4, TRIM_HORIZON);
    assert.deepEqual(l, {
      leaseKey: id(4),
      leaseCounter: 0,
      checkpoint: TRIM_HORIZON,
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: [id(3), id(1)],
      childShardIds: [],
      hashKeyRange: { startingHashKey: QUARTER, endingHashKey: MAX },
    });
  });
});

describe('withParentLeases (children created at a parent\'s end)', () => {
  const child4 = newLease(S4, TRIM_HORIZON);
  it('a merge child whose other parent has no lease: that parent first, at TRIM_HORIZON when it descends from a leased shard', () => {
    const existing = [lease(id(0), esn('5')), lease(id(1), esn('SHARD_END'))];
    for (const pos of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) {
      const leases = withParentLeases([child4], HISTORY, existing, pos);
      assert.deepEqual(leases.map((l) => [l.leaseKey, l.checkpoint.sequenceNumber]), [[id(3), 'TRIM_HORIZON'], [id(4), 'TRIM_HORIZON']], pos);
    }
  });
  it('a parent unrelated to any lease gets the initial position and ends the walk up (unless TRIM_HORIZON)', () => {
    const existing = [lease(id(1), esn('SHARD_END'))];
    assert.deepEqual(summary(withParentLeases([child4], HISTORY, existing, 'LATEST')), { [id(3)]: 'LATEST', [id(4)]: 'TRIM_HORIZON' });
    assert.deepEqual(summary(withParentLeases([child4], HISTORY, existing, 'TRIM_HORIZON')), { [id(0)]: 'TRIM_HORIZON', [id(3)]: 'TRIM_HORIZON', [id(4)]: 'TRIM_HORIZON' });
  });
  it('walks up every generation between the new child and the leased ancestor, oldest first', () => {
    // 0 (leased) -> 7 -> 3' -> merge with 1 -> 4'
    const shards = [S0, S1, shard(7, [QUARTER, HALF_1], { parent: 0, closed: true }), shard(3, [QUARTER, HALF_1], { parent: 7, closed: true }), S4];
    const leases = withParentLeases([child4], shards, [lease(id(0), esn('5')), lease(id(1), esn('SHARD_END'))], 'LATEST');
    assert.deepEqual(leases.map((l) => l.leaseKey), [id(7), id(3), id(4)]);
    assert.ok(leases.every((l) => l.checkpoint.sequenceNumber === 'TRIM_HORIZON'));
  });
  it('split children of a leased parent need nothing more; leased or consumed parents are never recreated', () => {
    assert.deepEqual(withParentLeases([newLease(S2, TRIM_HORIZON), newLease(S3, TRIM_HORIZON)], HISTORY, [lease(id(0), esn('SHARD_END'))], 'LATEST').map((l) => l.leaseKey), [id(2), id(3)]);
    // 3 is an ancestor of a started lease elsewhere (cannot happen for a real parent, but never recreate it).
    const consumed = [lease(id(1), esn('SHARD_END')), lease(id(9), esn('7'), { parentShardIds: [id(3)] })];
    assert.deepEqual(withParentLeases([child4], HISTORY, consumed, 'TRIM_HORIZON').map((l) => l.leaseKey), [id(4)]);
    // A parent missing from the listing (gone from the stream) gets no lease.
    assert.deepEqual(withParentLeases([child4], [S1, S4], [lease(id(1), esn('SHARD_END'))], 'TRIM_HORIZON').map((l) => l.leaseKey), [id(4)]);
  });
});

describe('childrenOf', () => {
  it('finds split children and merge children through either parent', () => {
    assert.deepEqual(childrenOf(id(0), HISTORY).map((s) => s.shardId), [id(2), id(3)]);
    assert.deepEqual(childrenOf(id(3), HISTORY).map((s) => s.shardId), [id(4)]);
    assert.deepEqual(childrenOf(id(1), HISTORY).map((s) => s.shardId), [id(4)]);
    assert.deepEqual(childrenOf(id(4), HISTORY), []);
    assert.deepEqual(childrenOf('shardId-999', HISTORY), []);
  });
});

describe('leasesToDelete', () => {
  const NONE_GONE = new Set<string>();
  const started = esn('49590000000000000000000000000000000000000000000000000777');
  const ended = esn('SHARD_END');

  it('deletes an ended lease once every child lease exists and has started, and its parents are gone', () => {
    const leases = [
      lease('p', ended, { childShardIds: ['c1', 'c2'] }),
      lease('c1', started, { parentShardIds: ['p'] }),
      lease('c2', esn('1', 3), { parentShardIds: ['p'] }),
    ];
    const { completed, garbage } = leasesToDelete(leases, NONE_GONE);
    assert.deepEqual(completed.map((l) => l.leaseKey), ['p']);
    assert.deepEqual(garbage, []);
  });

  it('a child that has itself ended counts as started', () => {
    const leases = [lease('p', ended, { childShardIds: ['c'] }), lease('c', ended, { parentShardIds: ['p'] })];
    assert.deepEqual(leasesToDelete(leases, NONE_GONE).completed.map((l) => l.leaseKey), ['p']);
  });

  for (const notStarted of ['TRIM_HORIZON', 'AT_TIMESTAMP', 'LATEST']) {
    it(`keeps an ended lease while a child is still at ${notStarted}`, () => {
      const leases = [lease('p', ended, { childShardIds: ['c1', 'c2'] }), lease('c1', started), lease('c2', esn(notStarted))];
      assert.deepEqual(leasesToDelete(leases, NONE_GONE).completed, []);
    });
  }

  it('keeps an ended lease while a child lease is missing', () => {
    const leases = [lease('p', ended, { childShardIds: ['c1', 'c2'] }), lease('c1', started)];
    assert.deepEqual(leasesToDelete(leases, NONE_GONE).completed, []);
  });

  it('keeps an ended lease whose children are not recorded yet', () => {
    const leases = [lease('p', ended, { childShardIds: [] }), lease('c1', started, { parentShardIds: ['p'] })];
    assert.deepEqual(leasesToDelete(leases, NONE_GONE).completed, []);
  });

  it('keeps an ended lease while one of its own parents’ leases exists', () => {
    const leases = [
      lease('gp', ended, { childShardIds: ['p', 'q'] }),
      lease('p', ended, { parentShardIds: ['gp'], childShardIds: ['c'] }),
      lease('c', started, { parentShardIds: ['p'] }),
    ];
    // gp's child q has no lease, so gp stays; p must wait for gp.
    assert.deepEqual(leasesToDelete(leases, NONE_GONE).completed, []);
    const withoutGrandparent = leases.filter((l) => l.leaseKey !== 'gp');
    assert.deepEqual(leasesToDelete(withoutGrandparent, NONE_GONE).completed.map((l) => l.leaseKey), ['p']);
  });

  it('deletes both merge parents once the merged child has started (not before)', () => {
    const leases = [
      lease('p1', ended, { childShardIds: ['m'] }),
      lease('p2', ended, { childShardIds: ['m'] }),
      lease('m', started, { parentShardIds: ['p1', 'p2'] }),
    ];
    assert.deepEqual(leasesToDelete(leases, NONE_GONE).completed.map((l) => l.leaseKey), ['p1', 'p2']);
    const notYet = leases.map((l) => (l.leaseKey === 'm' ? { ...l, checkpoint: TRIM_HORIZON } : l));
    assert.deepEqual(leasesToDelete(notYet, NONE_GONE).completed, []);
  });

  it('never deletes a lease that has not ended', () => {
    const leases = [lease('p', started, { childShardIds: ['c'] }), lease('c', started, { parentShardIds: ['p'] })];
    assert.deepEqual(leasesToDelete(leases, NONE_GONE), { completed: [], garbage: [] });
  });

  it('garbage is only what the existence check called gone, never what a listing left out', () => {
    const leases = [lease('live-1', started), lease('gone-1', started), lease('gone-2', ended), lease('live-2', TRIM_HORIZON)];
    const { completed, garbage } = leasesToDelete(leases, new Set(['gone-1', 'gone-2', 'unleased']));
    assert.deepEqual(completed, []);
    assert.deepEqual(garbage.map((l) => l.leaseKey), ['gone-1', 'gone-2']);
  });

  it('a completed lease is reported once, as completed, even when its shard is gone', () => {
    const leases = [lease('p', ended, { childShardIds: ['c'] }), lease('c', started, { parentShardIds: ['p'] })];
    const { completed, garbage } = leasesToDelete(leases, new Set(['p']));
    assert.deepEqual(completed.map((l) => l.leaseKey), ['p']);
    assert.deepEqual(garbage, []);
  });

  it('nothing checked (or every check failed) means no garbage', () => {
    const leases = [lease('x', started), lease('y', ended)];
    assert.deepEqual(leasesToDelete(leases, NONE_GONE).garbage, []);
  });
});

describe('garbageCandidates', () => {
  it('only leases the listing did not show are checked; a listing never condemns a lease by itself', () => {
    const leases = [lease('listed', esn('5')), lease('new-child', TRIM_HORIZON), lease('old-ended', esn('SHARD_END'))];
    assert.deepEqual(garbageCandidates(leases, new Set(['listed'])).map((l) => l.leaseKey), ['new-child', 'old-ended']);
    assert.deepEqual(garbageCandidates(leases, new Set(['listed', 'new-child', 'old-ended'])), []);
  });
});
