import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, waitFor, type TestEnv } from '../support/env.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { LeaseCoordinator } from '../../src/leases/lease-coordinator.ts';
import { PeerWatch, planReleasedLeaseProbe } from '../../src/leases/released-lease-probe.ts';
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
    assert.equal(plan.kind, 'owners');
    assert.deepEqual(plan.kind === 'owners' && [...plan.expected].map(([k, l]) => [k, l.leaseOwner]), [['shard-050', 'peer-a'], ['shard-080', 'peer-b']], 'each peer by its lowest key');
    assert.equal(plan.kind === 'owners' && plan.signal, 'shard-000', 'two peers or more: the lowest key carries the release signal');
    const onePeer = planReleasedLeaseProbe(big.map((l) => ({ ...l, leaseOwner: l.leaseOwner === 'peer-b' ? 'peer-a' : (l.leaseOwner ?? 'me') })), 'me');
    assert.equal(onePeer.kind === 'owners' && onePeer.signal, undefined, 'one peer: its own lease is read, no signal');
    assert.deepEqual(planReleasedLeaseProbe(big.slice(0, 12).map((l, i) => ({ ...l, leaseOwner: i % 2 ? 'me' : 'peer' })), 'me'), { kind: 'scan' }, 'a small table: one Scan costs one read');
    assert.deepEqual(planReleasedLeaseProbe(big.map((l) => ({ ...l, leaseOwner: 'me' })), 'me'), { kind: 'none' });
    assert.deepEqual(planReleasedLeaseProbe([lease('a'), lease('b', 'me')], 'me'), { kind: 'none' }, 'unowned leases alone are the taker round’s');
  });

  it('PeerWatch: released, taken by someone else, gone, or a counter standing still for the failover time', () => {
    const expected = new Map([['a', lease('a', 'p1')], ['b', lease('b', 'p2')]]);
    const watch = new PeerWatch(1000);
    const read = (a: string | undefined, ca: number, b: string | undefined, cb: number) =>
      new Map([['a', { ...(a ? { owner: a } : {}), counter: ca, releaseSignal: 0 }], ['b', { ...(b ? { owner: b } : {}), counter: cb, releaseSignal: 0 }]]);
    assert.equal(watch.changed(expected, read('p1', 1, 'p2', 1), 0), false);
    assert.equal(watch.changed(expected, read('p1', 2, 'p2', 2), 900), false, 'renewing');
    assert.equal(watch.changed(expected, read('p1', 3, 'p2', 2), 1800), false, 'b stood still 900 ms');
    assert.equal(watch.changed(expected, read('p1', 4, 'p2', 2), 2000), true, 'b stood still over 1000 ms: its owner died');
    assert.equal(new PeerWatch(1000).changed(expected, read('p1', 1, undefined, 2), 0), true, 'released');
    assert.equal(new PeerWatch(1000).changed(expected, read('p3', 1, 'p2', 1), 0), true, 'taken by another');
    assert.equal(new PeerWatch(1000).changed(expected, new Map([['a', { owner: 'p1', counter: 1, releaseSignal: 0 }]]), 0), true, 'gone');
    // A probe that read only some leases keeps the others' stamps: b still counts as standing still.
    const partial = new PeerWatch(1000);
    partial.changed(expected, read('p1', 1, 'p2', 1), 0);
    assert.equal(partial.changed(expected, new Map([['a', { owner: 'p1', counter: 2, releaseSignal: 0 }]]), 900, false), false, 'b not read: not gone');
    assert.equal(partial.changed(expected, read('p1', 3, 'p2', 1), 1100), true, 'b stood still since 0');
  });

  it('PeerWatch.signalled: a moved release signal, a gone signal lease; the first read is the baseline', () => {
    const watch = new PeerWatch(1000);
    const at = (releaseSignal: number) => ({ owner: 'p1', counter: 1, releaseSignal });
    assert.equal(watch.signalled('a', at(3)), false, 'baseline');
    assert.equal(watch.signalled('a', at(3)), false);
    assert.equal(watch.signalled('a', at(4)), true, 'bumped');
    assert.equal(watch.signalled('b', at(9)), false, 'another signal lease: a new baseline');
    assert.equal(watch.signalled('b', undefined), true, 'gone');
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

  it('quiet taker rounds skip their Scan, and a peer that stops renewing is noticed by its standing counter', async () => {
    const table = uniqueName('quiet');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, table);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(30000);
    for (let i = 0; i < 80; i++) await refresher.createLeaseIfNotExists(lease(`shardId-${String(i).padStart(12, '0')}`, i % 2 ? 'peer' : 'me'));
    // The peer renews its 40 leases until it "dies".
    let peerAlive = true;
    const peerLeases = (await refresher.listLeases()).filter((l) => l.leaseOwner === 'peer');
    const peer = (async () => {
      while (peerAlive) {
        for (const l of peerLeases) await refresher.renewLease(l);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    let scans = 0;
    const watched = new DynamoDBLeaseRefresher(env.dynamodb, table);
    const listLeases = watched.listLeases.bind(watched);
    watched.listLeases = (o) => (scans++, listLeases(o));
    const acquired: string[] = [];
    const failoverTimeMs = 3000;
    const coordinator = new LeaseCoordinator(
      watched,
      { workerId: 'me', failoverTimeMs, renewerIntervalMs: 975, takerIntervalMs: 400, unownedLeasePollIntervalMs: 300, maxLeasesForWorker: 1000, maxLeasesToStealAtOneTime: 1, enablePriorityLeaseAssignment: false },
      silentLogger,
      new Metrics('NONE', [], silentLogger),
      { leaseAcquired: (held) => void acquired.push(held.lease.leaseKey), leaseLost: () => undefined },
    );
    try {
      await coordinator.start();
      await waitFor(() => scans >= 2, 'the first taker round');
      const from = scans;
      const started = Date.now();
      // 12 taker rounds' worth of time (a scenario's length, not a synchronisation).
      await new Promise((r) => setTimeout(r, 12 * 400));
      const rounds = (Date.now() - started) / 400;
      assert.ok(scans - from <= Math.ceil(rounds / 3) + 1, `at most one Scan in three quiet rounds (${scans - from} in ${rounds.toFixed(0)} rounds)`);
      assert.equal(acquired.length, 40, 'nothing taken from the live peer');
      peerAlive = false;
      await peer;
      const died = Date.now();
      await waitFor(() => acquired.length === 80, "the dead peer's 40 leases taken", 20000);
      const tookMs = Date.now() - died;
      assert.ok(tookMs < 2 * failoverTimeMs + 3000, `taken within about the failover time (${tookMs} ms)`);
    } finally {
      peerAlive = false;
      await peer;
      await coordinator.stop();
    }
  });

  it('with two peers a probe reads one item, the release signal: a peer releasing through its coordinator is seen at once', async () => {
    const table = uniqueName('signal');
    const refresher = new DynamoDBLeaseRefresher(env.dynamodb, table);
    await refresher.createLeaseTableIfNotExists();
    await refresher.waitUntilLeaseTableExists(30000);
    // 40 leases each for me, peer-a and peer-b (peer-b's are static: failover is long, nobody takes them).
    const owners = ['me', 'peer-a', 'peer-b'];
    for (let i = 0; i < 120; i++) await refresher.createLeaseIfNotExists(lease(`shardId-${String(i).padStart(12, '0')}`, owners[i % 3]));
    const options = { failoverTimeMs: 60000, renewerIntervalMs: 19975, takerIntervalMs: 120000, unownedLeasePollIntervalMs: 200, maxLeasesForWorker: 1000, maxLeasesToStealAtOneTime: 1, enablePriorityLeaseAssignment: false };
    const items: number[] = []; // items read by each of my probes
    const watched = new DynamoDBLeaseRefresher(env.dynamodb, table);
    const leaseOwners = watched.leaseOwners.bind(watched);
    watched.leaseOwners = (k, o) => (items.push(k.length), leaseOwners(k, o));
    const acquired: string[] = [];
    const me = new LeaseCoordinator(watched, { workerId: 'me', ...options }, silentLogger, new Metrics('NONE', [], silentLogger), {
      leaseAcquired: (held) => void acquired.push(held.lease.leaseKey),
      leaseLost: () => undefined,
    });
    const peerA = new LeaseCoordinator(new DynamoDBLeaseRefresher(env.dynamodb, table), { workerId: 'peer-a', ...options }, silentLogger, new Metrics('NONE', [], silentLogger), {
      leaseAcquired: () => undefined,
      leaseLost: () => undefined,
    });
    try {
      await Promise.all([me.start(), peerA.start()]);
      await waitFor(() => items.length >= 6, 'a few probes');
      assert.equal(acquired.length, 40, 'its own 40 resumed');
      // peer-a shuts down gracefully: it stops taking, then releases every lease it holds.
      await peerA.stopTaking();
      const mine = peerA.renewer.heldLeases().map((h) => h.lease.leaseKey);
      assert.equal(mine.length, 40);
      const released = Date.now();
      for (const key of mine) assert.equal(await peerA.releaseLease(key), true);
      // Two workers left: my target is 60 of 120, so I take 20 of the 40 released.
      await waitFor(() => acquired.length === 60, "peer-a's released leases taken up to my target", 10000);
      const tookMs = Date.now() - released;
      assert.ok(tookMs < 2000, `taken within a few probe intervals of the release (${tookMs} ms)`);
      // Every per-peer read is 2 items (+ the signal lease, mine); the others read the signal alone.
      const single = items.filter((n) => n === 1).length;
      assert.ok(single >= items.length - 2, `probes reading one item: ${single} of ${items.length} (${items.join(',')})`);
    } finally {
      await Promise.all([me.stop(), peerA.stop()]);
    }
  });
});
