import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decideLeaseAssignments,
  DEFAULT_LEASE_ASSIGNMENT_CONFIG,
  initialAssignmentMemory,
  recordAssignmentWrite,
  type AssignmentLease,
  type LeaseAssignmentConfig,
  type LeaseAssignmentInput,
} from '../../src/assignment/lease-assignment-decisions.ts';
import { javaAverage, javaHashMapOrder, JavaPriorityQueue } from '../../src/common/java-collections.ts';
import type { WorkerMetricStats } from '../../src/workermetrics/worker-metric-stats.ts';

/*
 * Every expected figure below is worked out by hand from the Java KCL 3.5.1 sources
 * (LeaseAssignmentManager, VarianceBasedLeaseAssignmentDecider, LeaseCountBasedLeaseAssignmentDecider,
 * WorkerMetricStats); each test says how. The java.util facts were printed by OpenJDK 17.0.15 jshell.
 */

const NOW_MS = 1_800_000_000_000;
const NOW_NS = 5_000 * 1e9;
const lut = NOW_MS / 1000;
/** Collections.shuffle with nextInt(i) = i - 1 swaps every element with itself: the order stays. */
const noShuffle = { nextInt: (bound: number) => bound - 1 };

const cpu = (workerId: string, ...values: number[]): WorkerMetricStats => ({ workerId, lastUpdateTime: lut, metricStats: { C: values }, operatingRange: { C: [100] } });
const lease = (leaseKey: string, leaseOwner?: string, throughputKBps?: number, extra: Partial<AssignmentLease> = {}): AssignmentLease => ({
  leaseKey,
  leaseCounter: 1,
  ...(leaseOwner !== undefined ? { leaseOwner } : {}),
  ...(throughputKBps !== undefined ? { throughputKBps } : {}),
  ...extra,
});

function decide(leases: AssignmentLease[], workerMetrics: WorkerMetricStats[], config: Partial<LeaseAssignmentConfig> = {}, extra: Partial<LeaseAssignmentInput> = {}) {
  return decideLeaseAssignments({
    leases,
    workerMetrics,
    config: { ...DEFAULT_LEASE_ASSIGNMENT_CONFIG, ...config },
    memory: initialAssignmentMemory(),
    nowNanos: NOW_NS,
    nowEpochMillis: NOW_MS,
    random: noShuffle,
    ...extra,
  });
}
const moves = (d: ReturnType<typeof decide>): string[] => d.assignments.map((a) => `${a.lease.leaseKey}->${a.newOwner}:${a.mode}`);

describe('java.util behaviours the decisions depend on', () => {
  it('iterates String keys in java.util.HashMap order', () => {
    // jshell: HashMap put C,M,NI,NO,T -> [NO, C, T, NI, M]; put w3,w1,w2,worker-b,worker-a -> [worker-b, worker-a, w1, w2, w3]
    assert.deepEqual(javaHashMapOrder(['C', 'M', 'NI', 'NO', 'T']), ['NO', 'C', 'T', 'NI', 'M']);
    assert.deepEqual(javaHashMapOrder(['w3', 'w1', 'w2', 'worker-b', 'worker-a']), ['worker-b', 'worker-a', 'w1', 'w2', 'w3']);
  });

  it('averages as DoubleStream.average() does', () => {
    // jshell: DoubleStream.of(0.1, 0.2, 0.3).average() = 0.19999999999999998; of(1e16, 1.0, -1e16, 3.0) = 0.75
    assert.equal(javaAverage([0.1, 0.2, 0.3]), 0.19999999999999998);
    assert.equal(javaAverage([1e16, 1, -1e16, 3]), 0.75);
  });

  it('polls equal elements of a PriorityQueue in the order of its binary heap', () => {
    // jshell: PriorityQueue ordered by the digit, add a1 b1 c1 d2 e0 f1, poll all -> [e0, f1, b1, a1, c1, d2]
    const q = new JavaPriorityQueue<string>((x, y) => Number(x[1]) - Number(y[1]));
    for (const e of ['a1', 'b1', 'c1', 'd2', 'e0', 'f1']) q.add(e);
    const out: (string | undefined)[] = [];
    while (q.size > 0) out.push(q.poll());
    assert.deepEqual(out, ['e0', 'f1', 'b1', 'a1', 'c1', 'd2']);
  });
});

describe('decideLeaseAssignments: expired and unassigned leases', () => {
  it('gives new leases to the workers with the most room, extrapolating their CPU by fleet average / target leases', () => {
    // Fleet average C = (40+20)/2 = 30; no throughput figures so every lease counts 0 KBps and
    // averageThroughput = 0: each assignment adds 30 / targetLeasePerWorker(= max(4/2, 1) = 2) = 15.
    // Room = (avg - value) / value: w1 (30-40)/40 = -0.25, w2 (30-20)/20 = 0.5.
    // l1 -> w2 (20 -> 35, room -0.143); l2 -> w2 (35 -> 50, room -0.4); l3 -> w1 (40 -> 55, room -0.4545);
    // l4 -> w2 (-0.4 > -0.4545). Balancing then finds both above 33 (avg + 10%) but moving any lease would
    // push the receiver above the average (55 + 15 > 30), so it stops.
    const d = decide([lease('l1'), lease('l2'), lease('l3'), lease('l4')], [cpu('w1', 40), cpu('w2', 20)]);
    assert.deepEqual(moves(d), ['l1->w2:assign', 'l2->w2:assign', 'l3->w1:assign', 'l4->w2:assign']);
    assert.equal(d.balanced, true);
    assert.deepEqual(d.spillover, []);
  });

  it('stops when no worker has room (maxLeasesForWorker) and reports the spillover', () => {
    // Each worker already holds 1 = maxLeasesForWorker: isWorkerAssignedLeasesLessThanMaxLeases is false for both,
    // the priority queue starts empty, the first poll returns null: "No worker available", break.
    const d = decide([lease('a', 'w1', 10), lease('b', 'w2', 10), lease('n1'), lease('n2')], [cpu('w1', 50), cpu('w2', 50)], { maxLeasesForWorker: 1 });
    assert.deepEqual(moves(d), []);
    assert.deepEqual(d.spillover, ['n1', 'n2']);
  });

  it('treats a worker silent for more than 2 x the reporter period as dead, and reassigns its leases once they expire', () => {
    // w2 reported 61 s ago (> 2 x 30 s): not active. w3 reported 59 s ago: active.
    // Run 1 (first sight): owned leases are stamped "now", so x (owner w2) is not yet expired: nothing moves.
    const workers = [cpu('w1', 10), { ...cpu('w2', 10), lastUpdateTime: lut - 61 }, { ...cpu('w3', 30), lastUpdateTime: lut - 59 }];
    const leases = [lease('x', 'w2', 5), lease('y', 'w1', 5), lease('z', 'w3', 5)];
    const first = decide(leases, workers);
    assert.deepEqual(first.activeWorkers, ['w1', 'w3']);
    assert.deepEqual(moves(first), []);
    // Run 2, 10.001 s later: y and z were renewed (counter 2 -> stamped now), x's counter did not move: age >
    // failoverTime 10 s -> expired -> assigned (plainly: an expired lease gets no graceful handoff) to the worker
    // with most room: w1 (C 10 vs avg 20 -> room 1.0; w3 room -0.333). Not a balancing run (lamRunCounter 1 of 3).
    const renewed = [leases[0]!, lease('y', 'w1', 5, { leaseCounter: 2 }), lease('z', 'w3', 5, { leaseCounter: 2 })];
    const second = decide(renewed, workers, {}, { memory: first.memory, nowNanos: NOW_NS + 10_001e6, nowEpochMillis: NOW_MS + 10 });
    assert.deepEqual(moves(second), ['x->w1:assign']);
    assert.equal(second.balanced, false);
    // After the write succeeds the leader remembers the new counter and restarts x's clock: not expired next run.
    const memory = recordAssignmentWrite(second.memory, { leaseKey: 'x', leaseOwner: 'w1', leaseCounter: 2 }, 'assign', DEFAULT_LEASE_ASSIGNMENT_CONFIG, NOW_NS + 10_002e6);
    const third = decide([lease('x', 'w1', 5, { leaseCounter: 2 }), renewed[1]!, renewed[2]!], workers, {}, { memory, nowNanos: NOW_NS + 20_000e6, nowEpochMillis: NOW_MS + 20 });
    assert.deepEqual(moves(third), []);
  });
});

describe('decideLeaseAssignments: variance-based rebalancing', () => {
  const hot = [cpu('w1', 80), cpu('w2', 40), cpu('w3', 30)];
  const held = (a: number, b: number, c: number): AssignmentLease[] => [lease('a', 'w1', a), lease('b', 'w1', b), lease('c', 'w1', c), lease('d', 'w2', 20), lease('e', 'w3', 20)];

  it('moves the dampened excess of the hottest worker to the worker with most room, by graceful handoff', () => {
    // Fleet average C = 150/3 = 50; band 45..55: w1 (80) is above, so it gives.
    // loadPercentageToTake = (80-50)/80 = 0.375, dampened x 0.6 = 0.225, x its 60 KBps = 13.5 KBps to move.
    // Leases in (unshuffled) order: a 10 fits (13.5-10 = 3.5 > 0), b 20 and c 30 would overshoot.
    // Receiver: most room = w3 ((50-30)/30 = 0.667). Its C after a: 30 + 10 x 50 / (20 x 5 / 3) = 45 (jshell) <= 50: go.
    const d = decide(held(10, 20, 30), hot);
    assert.deepEqual(moves(d), ['a->w3:gracefulHandoff']);
  });

  it('takes the smallest lease when every lease would overshoot (allowThroughputOvershoot), nothing when not allowed', () => {
    // w1 80, w2 40, w3 10: average 43.33, band 39..47.67; w1 gives (80-43.33)/80 x 0.6 x 60 KBps = 16.5 KBps.
    // a, b, c are 20 KBps each: 16.5 - 20 <= 0 for all, so none fits; overshoot takes the minimum (the first of
    // equal minima: a). Receiver w3 (room (43.33-10)/10 = 3.33): 10 + 20 x 43.33 / (20 x 5 / 3) = 36 <= 43.33: moves.
    const cold = [cpu('w1', 80), cpu('w2', 40), cpu('w3', 10)];
    assert.deepEqual(moves(decide(held(20, 20, 20), cold)), ['a->w3:gracefulHandoff']);
    assert.deepEqual(moves(decide(held(20, 20, 20), cold, { allowThroughputOvershoot: false })), []);
  });

  it('uses the injected shuffle to pick which leases combine to the throughput to take', () => {
    // Collections.shuffle of [a, b, c] with nextInt(3) = 0, nextInt(2) = 0: swap(2, 0) -> [c, b, a], swap(1, 0) -> [b, c, a].
    // a 10, b 5, c 30: w1 holds 45 KBps, gives 45 x 0.225 = 10.125: b 5 fits (5.125 left), c 30 and a 10 do not.
    // Receiver w3: 30 + 5 x 50 / (17 x 5 / 3 = 28.33) = 38.8 <= 50: b moves (without the shuffle, a would).
    const d = decide(held(10, 5, 30), hot, {}, { random: { nextInt: () => 0 } });
    assert.deepEqual(moves(d), ['b->w3:gracefulHandoff']);
  });

  it('does nothing while every worker is within the threshold band', () => {
    // Average 50, band 45..55: 54, 50, 46 are all inside -> shouldTriggerReBalance false.
    assert.deepEqual(moves(decide(held(10, 20, 30), [cpu('w1', 54), cpu('w2', 50), cpu('w3', 46)])), []);
  });

  it('balances every varianceBalancingFrequency-th run only', () => {
    const first = decide(held(10, 20, 30), hot);
    const second = decide(held(10, 20, 30), hot, {}, { memory: first.memory });
    const third = decide(held(10, 20, 30), hot, {}, { memory: second.memory });
    const fourth = decide(held(10, 20, 30), hot, {}, { memory: third.memory });
    assert.deepEqual([first.balanced, second.balanced, third.balanced, fourth.balanced], [true, false, false, true]);
    assert.deepEqual(moves(second), []);
  });

  it('balances workers that report no metrics by throughput ("T": 100 = the fleet average share)', () => {
    // No sts/opr -> default worker. avg lease throughput (30+30+0)/3 = 20, target per worker 20 x 3 / 2 = 30.
    // w1 holds 60 -> T = [200, 200] (EMA 200); w2 holds 0 -> T 0. Fleet average T = 100, band 90..110.
    // w1 gives (200-100)/200 x 0.6 x 60 = 18 KBps: a 30 and b 30 both overshoot -> the smaller, first: a.
    // Receiver w2 (T 0 -> room 1): 0 + 30 x 100 / 30 = 100, not above 100 nor above its range 100: a moves.
    const silent = (workerId: string): WorkerMetricStats => ({ workerId, lastUpdateTime: lut });
    const d = decide([lease('a', 'w1', 30), lease('b', 'w1', 30), lease('c', 'w2', 0)], [silent('w1'), silent('w2')]);
    assert.deepEqual(moves(d), ['a->w2:gracefulHandoff']);
  });

  it('skips a worker whose latest metric capture failed (-1)', () => {
    // w3's last value is -1: isAnyWorkerMetricFailing -> excluded. w1 80 and w2 40 -> average 60; w1 gives
    // (80-60)/80 x 0.6 x 60 = 9 KBps: no lease fits (a 10 > 9) -> overshoot takes a; target throughput per worker
    // is 20 x 5 / 2 = 50, so w2 gets 40 + 10 x 60 / 50 = 52 <= 60: a moves.
    const d = decide(held(10, 20, 30), [cpu('w1', 80), cpu('w2', 40), cpu('w3', 30, -1)]);
    assert.deepEqual(d.activeWorkers, ['w1', 'w2']);
    assert.deepEqual(moves(d), ['a->w2:gracefulHandoff']);
  });
});

describe('decideLeaseAssignments: lease-count strategy (LEASE_COUNT_BASED)', () => {
  it('fills the emptiest workers to ceil(leases / workers), then moves from the fullest', () => {
    // 5 leases, 3 workers: target = 5/3 + 1 = 2. Counts in HashMap order (w1, w2, w3) = 4, 0, 0, sorted by count
    // (stable): w2, w3, w1. Unassigned u -> w2 (1 < 2). Balance: sorted w3 0, w2 1, w1 4: w3 takes p then q from w1
    // (first available in w1's list), then w2 needs 1 but w1 is at target: done.
    const leases = [lease('p', 'w1'), lease('q', 'w1'), lease('r', 'w1'), lease('s', 'w1'), lease('u')];
    const d = decide(leases, [cpu('w1', 1), cpu('w2', 1), cpu('w3', 1)], { leaseAssignmentStrategy: 'LEASE_COUNT_BASED' });
    assert.deepEqual(moves(d), ['u->w2:assign', 'p->w3:gracefulHandoff', 'q->w3:gracefulHandoff']);
  });

  it('never moves a lease whose graceful handoff is still pending', () => {
    // p is mid-handoff from w1 to w9 (checkpointOwner w1): its actual owner is w1, it counts for w1, but it is
    // blocked on its pending checkpoint (handoff timeout not reached), so w3 gets q and r instead.
    const leases = [lease('p', 'w9', undefined, { checkpointOwner: 'w1' }), lease('q', 'w1'), lease('r', 'w1'), lease('s', 'w1'), lease('u')];
    const d = decide(leases, [cpu('w1', 1), cpu('w2', 1), cpu('w3', 1)], { leaseAssignmentStrategy: 'LEASE_COUNT_BASED' });
    assert.deepEqual(moves(d), ['u->w2:assign', 'q->w3:gracefulHandoff', 'r->w3:gracefulHandoff']);
  });
});
