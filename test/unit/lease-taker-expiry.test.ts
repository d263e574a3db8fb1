import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseTaker } from '../../src/leases/lease-taker.ts';
import type { LeaseRefresher } from '../../src/leases/lease-refresher.ts';
import type { Lease } from '../../src/leases/lease.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { Metrics } from '../../src/metrics/metrics.ts';

const FAILOVER = 10000;

function lease(leaseKey: string, leaseOwner: string | undefined, leaseCounter = 1): Lease {
  return {
    leaseKey,
    ...(leaseOwner === undefined ? {} : { leaseOwner }),
    leaseCounter,
    checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
  };
}

function makeTaker(refresher: Partial<LeaseRefresher> = {}): LeaseTaker {
  return new LeaseTaker(
    refresher as LeaseRefresher,
    { workerId: 'me', failoverTimeMs: FAILOVER, maxLeasesForWorker: Number.MAX_SAFE_INTEGER, maxLeasesToStealAtOneTime: 1, enablePriorityLeaseAssignment: true },
    silentLogger,
    new Metrics('NONE', [], silentLogger),
  );
}

/** One taker scan at time `now`: record what was seen, then classify. */
function scan(taker: LeaseTaker, leases: Lease[], now: number): { expired: string[]; veryOld: string[] } {
  taker.updateStamps(leases, now);
  const { expiredOrUnowned, veryOld } = taker.classify(leases, now);
  return { expired: [...expiredOrUnowned].sort(), veryOld: [...veryOld].sort() };
}

describe('LeaseTaker expiry (updateStamps + classify)', () => {
  it('a lease first seen unowned is available at once, but never very old', () => {
    const taker = makeTaker();
    const l = lease('s-0', undefined);
    assert.deepEqual(scan(taker, [l], 1000), { expired: ['s-0'], veryOld: [] });
    assert.deepEqual(scan(taker, [l], 1000 + 10 * FAILOVER), { expired: ['s-0'], veryOld: [] });
  });

  it('a lease first seen owned counts as just renewed: expired only after failoverTimeMs more', () => {
    const taker = makeTaker();
    const l = lease('s-0', 'other', 7);
    const t0 = 50_000;
    assert.deepEqual(scan(taker, [l], t0), { expired: [], veryOld: [] });
    assert.deepEqual(scan(taker, [l], t0 + FAILOVER - 1), { expired: [], veryOld: [] });
    assert.deepEqual(scan(taker, [l], t0 + FAILOVER), { expired: [], veryOld: [] }, 'exactly failoverTimeMs is not yet expired');
    assert.deepEqual(scan(taker, [l], t0 + FAILOVER + 1), { expired: ['s-0'], veryOld: [] });
  });

  it('an unchanged counter for more than 3 x failoverTimeMs makes an owned lease very old', () => {
    const taker = makeTaker();
    const l = lease('s-0', 'dead', 3);
    scan(taker, [l], 0);
    assert.deepEqual(scan(taker, [l], 2 * FAILOVER), { expired: ['s-0'], veryOld: [] });
    assert.deepEqual(scan(taker, [l], 3 * FAILOVER), { expired: ['s-0'], veryOld: [] }, 'exactly 3x is not very old');
    assert.deepEqual(scan(taker, [l], 3 * FAILOVER + 1), { expired: ['s-0'], veryOld: ['s-0'] });
  });

  it('age is measured from the last counter change, not from the last scan', () => {
    const taker = makeTaker();
    const l = lease('s-0', 'other', 1);
    for (let t = 0; t <= FAILOVER; t += 1000) assert.deepEqual(scan(taker, [l], t).expired, []);
    assert.deepEqual(scan(taker, [l], FAILOVER + 1).expired, ['s-0']);
  });

  it('a counter change resets the clock', () => {
    const taker = makeTaker();
    scan(taker, [lease('s-0', 'other', 1)], 0);
    // Renewed (counter 2) at 9000: the clock restarts there.
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 2)], 9000).expired, []);
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 2)], 15000).expired, [], 'age 6000, though 15000 since first seen');
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 2)], 9000 + FAILOVER).expired, []);
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 2)], 9000 + FAILOVER + 1).expired, ['s-0']);
    // An expired lease that is renewed again is live again.
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 3)], 30000), { expired: [], veryOld: [] });
    // ... and a very old one too.
    scan(taker, [lease('s-0', 'other', 3)], 30000 + 3 * FAILOVER + 1);
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 3)], 30000 + 3 * FAILOVER + 2).veryOld, ['s-0']);
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 4)], 30000 + 3 * FAILOVER + 3), { expired: [], veryOld: [] });
  });

  it('an unowned lease taken by another worker is live from that moment', () => {
    const taker = makeTaker();
    assert.deepEqual(scan(taker, [lease('s-0', undefined, 1)], 0).expired, ['s-0']);
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 2)], 100_000), { expired: [], veryOld: [] });
    assert.deepEqual(scan(taker, [lease('s-0', 'other', 2)], 100_000 + FAILOVER + 1), { expired: ['s-0'], veryOld: [] });
  });

  it('leases that disappear from a scan are forgotten', () => {
    const taker = makeTaker();
    const a = lease('s-a', 'other', 5);
    const b = lease('s-b', 'other', 5);
    scan(taker, [a, b], 0);
    // s-b vanishes (deleted), then comes back with the same counter much later: it is seen afresh.
    assert.deepEqual(scan(taker, [a], 5000).expired, []);
    assert.deepEqual(scan(taker, [a, b], 40_000), { expired: ['s-a'], veryOld: ['s-a'] });
    assert.deepEqual(scan(taker, [a, b], 40_000 + FAILOVER).expired, ['s-a']);
    assert.deepEqual(scan(taker, [a, b], 40_000 + FAILOVER + 1).expired, ['s-a', 's-b']);
  });

  it('classifies each lease independently', () => {
    const taker = makeTaker();
    scan(taker, [lease('old', 'dead', 1), lease('stale', 'slow', 1)], 0);
    scan(taker, [lease('old', 'dead', 1), lease('stale', 'slow', 2)], 25_000); // 'stale' renewed at 25000
    const now = 35_001; // 'old' age 35001 (> 3x), 'stale' age 10001 (> 1x), 'fresh' first seen now
    const r = scan(taker, [lease('old', 'dead', 1), lease('stale', 'slow', 2), lease('fresh', 'alive', 1), lease('free', undefined, 1)], now);
    assert.deepEqual(r, { expired: ['free', 'old', 'stale'], veryOld: ['old'] });
  });

  it('a lease never passed to updateStamps is not expired unless unowned', () => {
    const taker = makeTaker();
    const { expiredOrUnowned, veryOld } = taker.classify([lease('x', 'other'), lease('y', undefined)], 1_000_000);
    assert.deepEqual([...expiredOrUnowned], ['y']);
    assert.deepEqual([...veryOld], []);
  });
});

describe('LeaseTaker.takeLeases (fake refresher)', () => {
  it('takes unowned leases on the first scan and records the scan', async () => {
    const table = [lease('s-0', undefined), lease('s-1', undefined), lease('s-2', 'me')];
    const taken: string[] = [];
    const taker = makeTaker({
      listLeases: async () => structuredClone(table),
      takeLease: async (l, owner) => {
        taken.push(`${l.leaseKey}:${owner}`);
        l.leaseOwner = owner;
        l.leaseCounter++;
        return true;
      },
    });
    const result = await taker.takeLeases(new Set(['s-2']));
    assert.deepEqual(taken.sort(), ['s-0:me', 's-1:me']);
    assert.deepEqual(result.map((l) => l.leaseKey).sort(), ['s-0', 's-1']);
    assert.equal(taker.lastScan.length, 3);
  });

  it('reports only the leases whose conditional take succeeded, and survives a failing take', async () => {
    const table = [lease('s-0', undefined), lease('s-1', undefined), lease('s-2', undefined)];
    const taker = makeTaker({
      listLeases: async () => structuredClone(table),
      takeLease: async (l) => {
        if (l.leaseKey === 's-1') return false;
        if (l.leaseKey === 's-2') throw new Error('boom');
        return true;
      },
    });
    const result = await taker.takeLeases(new Set());
    assert.deepEqual(result.map((l) => l.leaseKey), ['s-0']);
  });

  it('propagates a failed scan', async () => {
    const taker = makeTaker({
      listLeases: async () => {
        throw new Error('scan failed');
      },
    });
    await assert.rejects(() => taker.takeLeases(new Set()), /scan failed/);
  });
});
