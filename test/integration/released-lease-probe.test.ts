import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, waitFor, type TestEnv } from '../support/env.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { LeaseCoordinator } from '../../src/leases/lease-coordinator.ts';
import { anyOwnerChanged, planReleasedLeaseProbe } from '../../src/leases/released-lease-probe.ts';
import type { Lease } from '../../src/leases/lease.ts';
import { TRIM_HORIZON } from '../../src/retrieval/extended-sequence-number.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { silentLogger } from '../../src/common/logger.ts';

const lease = (key: string, owner?: string): Lease => ({
  leaseKey: key,
  ...(owner !== undefined ? { leaseOwner: owner } : {}),
  leaseCounter: 1,
  checkpoint: TRIM_HORIZON,
  ownerSwitchesSinceCheckpoint: 0,
  parentShardIds: [],
  childShardIds: [],
});

describe('planReleasedLeaseProbe', () => {
  it('reads one lease per peer when that costs less than scanning the table, else scans, and skips without peers', () => {
    const big = Array.from({ length: 100 }, (_, i) => lease(`shard-${String(i).padStart(3, '0')}`, i < 50 ? 'me' : i < 80 ? 'peer-a' : 'peer-b'));
    const plan = planReleasedLeaseProbe(big, 'me');
    assert.deepEqual(plan, { kind: 'owners', expected: new Map([['shard-050', 'peer-a'], ['shard-080', 'peer-b']]) });
    assert.deepEqual(planReleasedLeaseProbe(big.slice(0, 12).map((l, i) => ({ ...l, leaseOwner: i % 2 ? 'me' : 'peer' })), 'me'), { kind: 'scan' }, 'a small table: one Scan costs one read');
    assert.deepEqual(planReleasedLeaseProbe(big.map((l) => ({ ...l, leaseOwner: 'me' })), 'me'), { kind: 'none' });
    assert.deepEqual(planReleasedLeaseProbe([lease('a'), lease('b', 'me')], 'me'), { kind: 'none' }, 'unowned leases alone are the taker round’s');
  });

  it('anyOwnerChanged: released, taken by someone else or gone', () => {
    const expected = new Map([['a', 'p1'], ['b', 'p2']]);
    assert.equal(anyOwnerChanged(expected, new Map([['a', 'p1'], ['b', 'p2']])), false);
    assert.equal(anyOwnerChanged(expected, new Map([['a', 'p1'], ['b', undefined]])), true);
    assert.equal(anyOwnerChanged(expected, new Map([['a', 'p3'], ['b', 'p2']])), true);
    assert.equal(anyOwnerChanged(expected, new Map([['a', 'p1']])), true);
  });
});

describe('released leases are noticed without a Scan (dynalite)', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => await env?.close());

  it('a peer releasing 40 leases is seen by a per-lease read within a probe interval; no count Scan, no taker round without a change', async () => {
    const table = uniqueName('probe');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, table);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(30000);
    // 40 leases each: at its target (40 of 80 for 2 workers), this worker steals nothing.
    const leases = Array.from({ length: 80 }, (_, i) => lease(`shardId-${String(i).padStart(12, '0')}`, i % 2 ? 'peer' : 'me'));
    for (const l of leases) await refresher.createLeaseIfNotExists(l);
    // Count what the worker asks the table for.
    const counts = { scans: 0, countScans: 0, ownerReads: 0 };
    const watched = new DynamoDBLeaseRefresher(env.dynamodb, table);
    const listLeases = watched.listLeases.bind(watched);
    const hasUnowned = watched.hasUnownedLeases.bind(watched);
    const leaseOwners = watched.leaseOwners.bind(watched);
    watched.listLeases = (o) => (counts.scans++, listLeases(o));
    watched.hasUnownedLeases = (o) => (counts.countScans++, hasUnowned(o));
    watched.leaseOwners = (k, o) => (counts.ownerReads++, leaseOwners(k, o));
    const acquired: string[] = [];
    const coordinator = new LeaseCoordinator(
      watched,
      {
        workerId: 'me',
        failoverTimeMs: 60000,
        renewerIntervalMs: 19975,
        takerIntervalMs: 120000, // no taker round of its own during the test: only the probe can wake it
        unownedLeasePollIntervalMs: 200,
        maxLeasesForWorker: 1000,
        maxLeasesToStealAtOneTime: 1,
        enablePriorityLeaseAssignment: false,
      },
      silentLogger,
      new Metrics('NONE', [], silentLogger),
      { leaseAcquired: (held) => void acquired.push(held.lease.leaseKey), leaseLost: () => undefined },
    );
    try {
      await coordinator.start();
      await waitFor(() => counts.scans >= 1, 'the first taker round');
      await waitFor(() => counts.ownerReads >= 3, 'a few probes');
      const scansBefore = counts.scans;
      const readsBefore = counts.ownerReads;
      await waitFor(() => counts.ownerReads >= readsBefore + 3, 'three more probes while nothing changes');
      assert.equal(counts.scans, scansBefore, 'probes that see no change wake no taker round');
      assert.equal(acquired.length, 40, 'its own 40 resumed, nothing taken from the peer');
      // The peer shuts down gracefully: it releases every lease.
      for (const l of (await refresher.listLeases()).filter((l) => l.leaseOwner === 'peer')) assert.equal(await refresher.evictLease(l), true);
      const released = Date.now();
      await waitFor(() => acquired.length === 80, 'all 40 released leases taken', 10000);
      const tookMs = Date.now() - released;
      assert.ok(tookMs < 2000, `taken within a few probe intervals of the last release (${tookMs} ms)`);
      // The peer released one lease after another: each probe that saw a change woke one round.
      assert.ok(counts.scans - scansBefore >= 1 && counts.scans - scansBefore <= 8, `taker rounds woken by the probe: ${counts.scans - scansBefore}`);
      assert.equal(counts.countScans, 0, 'no count-only Scan of the table');
    } finally {
      await coordinator.stop();
    }
  });
});
