import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isLeader } from '../../src/leases/leader-decider.ts';
import type { Lease } from '../../src/leases/lease.ts';
import { testLease } from '../support/leases.ts';

/*
 * Expected leaders come from real Java (OpenJDK 17.0.15): the first element of
 * Collections.shuffle(sortedDistinctOwners, new java.util.Random(1947)), as in the Java KCL's
 * DeterministicShuffleShardSyncLeaderDecider.
 */

const lease = (leaseKey: string, leaseOwner?: string): Lease => testLease(leaseKey, leaseOwner);

/** A table where each owner holds a few leases, in a scrambled order, plus some unowned leases. */
function table(owners: string[]): Lease[] {
  const out: Lease[] = [lease('unowned-a')];
  owners.forEach((owner, i) => {
    for (let k = 0; k <= i % 3; k++) out.push(lease(`shard-${owner}-${k}`, owner));
  });
  out.push(lease('unowned-b'));
  return out.reverse();
}

const leaders = (candidates: string[], leases: Lease[]): string[] => candidates.filter((w) => isLeader(w, leases));

// Java 17: first of Collections.shuffle(["worker-1".."worker-n"], new Random(1947)).
const JAVA_LEADER_WORKERS: [number, string][] = [
  [1, 'worker-1'],
  [2, 'worker-1'],
  [3, 'worker-3'],
  [4, 'worker-4'],
  [5, 'worker-5'],
  [6, 'worker-3'],
];

// Java 17: sorted ids (String.compareTo) and the first of their shuffle with Random(1947), for the first n.
const HOSTS_SORTED = ['Host-9', 'host-123-0001', 'host-123-abcd', 'host-7-ffff', 'ip-10-0-1-17.ec2.internal-4242-9c1e', 'worker-10', 'worker-2'];
const JAVA_LEADER_HOSTS = ['Host-9', 'Host-9', 'host-123-abcd', 'host-7-ffff', 'ip-10-0-1-17.ec2.internal-4242-9c1e', 'host-123-abcd', 'host-123-abcd'];

describe('isLeader (DeterministicShuffleShardSyncLeaderDecider)', () => {
  for (const [n, expected] of JAVA_LEADER_WORKERS) {
    it(`with ${n} owner(s) worker-1..worker-${n}, ${expected} leads, as in Java`, () => {
      const owners = Array.from({ length: n }, (_, i) => `worker-${i + 1}`);
      assert.deepEqual(leaders([...owners, 'worker-99'], table(owners)), [expected]);
    });
  }

  it('picks Java’s leader for realistic host ids, whatever the lease order', () => {
    for (let n = 1; n <= HOSTS_SORTED.length; n++) {
      const owners = HOSTS_SORTED.slice(0, n);
      const expected = JAVA_LEADER_HOSTS[n - 1]!;
      assert.deepEqual(leaders(owners, table(owners)), [expected], `n = ${n}`);
      assert.deepEqual(leaders(owners, table([...owners].reverse())), [expected], `n = ${n}, reversed`);
    }
  });

  it('sorts owners by UTF-16 code units like Java (worker-10 sorts before worker-2)', () => {
    // Sorted: worker-10, worker-2, worker-3 -> shuffle of 3 with Random(1947) puts index 2 first: worker-3.
    assert.deepEqual(leaders(['worker-2', 'worker-3', 'worker-10'], table(['worker-3', 'worker-10', 'worker-2'])), ['worker-3']);
    // Sorted: worker-1, worker-10, worker-2, worker-3 -> shuffle of 4 puts index 3 first: worker-3.
    assert.deepEqual(leaders(['worker-1', 'worker-2', 'worker-3', 'worker-10'], table(['worker-2', 'worker-10', 'worker-1', 'worker-3'])), ['worker-3']);
  });

  it('counts each owner once however many leases it holds', () => {
    const leases = [...Array.from({ length: 50 }, (_, i) => lease(`a-${i}`, 'worker-1')), lease('b', 'worker-2'), lease('c', 'worker-3')];
    assert.deepEqual(leaders(['worker-1', 'worker-2', 'worker-3'], leases), ['worker-3']);
  });

  it('a worker holding no lease is not the leader while others hold leases', () => {
    assert.equal(isLeader('newcomer', table(['worker-1', 'worker-2'])), false);
  });

  it('every worker is leader when no lease has an owner', () => {
    const leases = [lease('s-0'), lease('s-1'), lease('s-2')];
    for (const w of ['worker-1', 'worker-2', 'anyone']) assert.equal(isLeader(w, leases), true, w);
  });

  it('every worker is leader when the table is empty', () => {
    assert.equal(isLeader('worker-1', []), true);
  });
});
