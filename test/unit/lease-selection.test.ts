import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computeTarget, countLeasesPerWorker, selectLeasesToTake, shuffle, type SelectionInput } from '../../src/leases/lease-selection.ts';
import type { Lease } from '../../src/leases/lease.ts';
import { testLease } from '../support/leases.ts';

const lease = (leaseKey: string, leaseOwner?: string): Lease => testLease(leaseKey, leaseOwner);

/** `count` leases named `${prefix}-0..` owned by `owner` (undefined = unowned). */
function leases(prefix: string, count: number, owner?: string): Lease[] {
  return Array.from({ length: count }, (_, i) => lease(`${prefix}-${i}`, owner));
}

/** A small seeded PRNG (mulberry32) so shuffles are reproducible. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const unownedKeys = (ls: Lease[]): Set<string> => new Set(ls.filter((l) => l.leaseOwner === undefined).map((l) => l.leaseKey));

/** Defaults for a selection: no expired leases except unowned ones, nothing very old, no caps. */
function input(workerId: string, all: Lease[], overrides: Partial<SelectionInput> = {}): SelectionInput {
  return {
    workerId,
    leases: all,
    expiredOrUnowned: unownedKeys(all),
    veryOld: new Set(),
    maxLeasesForWorker: Number.MAX_SAFE_INTEGER,
    maxLeasesToStealAtOneTime: 1,
    enablePriorityLeaseAssignment: true,
    random: seeded(7),
    ...overrides,
  };
}

const keys = (ls: Lease[]): string[] => ls.map((l) => l.leaseKey).sort();

describe('computeTarget', () => {
  it('is 1 when there are at least as many workers as leases', () => {
    assert.deepEqual(computeTarget(3, 3, 100), { target: 1, spillover: 0 });
    assert.deepEqual(computeTarget(2, 5, 100), { target: 1, spillover: 0 });
    assert.deepEqual(computeTarget(1, 1, 100), { target: 1, spillover: 0 });
  });

  it('is ceil(leases / workers) otherwise', () => {
    assert.deepEqual(computeTarget(12, 3, 100), { target: 4, spillover: 0 });
    assert.deepEqual(computeTarget(13, 3, 100), { target: 5, spillover: 0 });
    assert.deepEqual(computeTarget(14, 3, 100), { target: 5, spillover: 0 });
    assert.deepEqual(computeTarget(10, 1, 100), { target: 10, spillover: 0 });
    assert.deepEqual(computeTarget(4, 3, 100), { target: 2, spillover: 0 });
  });

  it('is capped at maxLeasesForWorker, reporting the excess as spillover', () => {
    assert.deepEqual(computeTarget(10, 3, 2), { target: 2, spillover: 2 });
    assert.deepEqual(computeTarget(100, 1, 10), { target: 10, spillover: 90 });
    assert.deepEqual(computeTarget(12, 3, 4), { target: 4, spillover: 0 });
    assert.deepEqual(computeTarget(5, 5, 1), { target: 1, spillover: 0 });
  });
});

describe('countLeasesPerWorker', () => {
  it('counts live leases per owner and always includes this worker', () => {
    const all = [...leases('a', 3, 'A'), ...leases('b', 2, 'B'), ...leases('u', 2)];
    const counts = countLeasesPerWorker({ workerId: 'me', leases: all, expiredOrUnowned: unownedKeys(all) });
    assert.deepEqual([...counts].sort(), [['A', 3], ['B', 2], ['me', 0]]);
  });

  it('does not count expired leases as their owner’s (an owner whose leases all expired is not a worker)', () => {
    const all = [...leases('a', 3, 'A'), ...leases('d', 2, 'Dead')];
    const expired = new Set(['a-0', 'd-0', 'd-1']);
    const counts = countLeasesPerWorker({ workerId: 'me', leases: all, expiredOrUnowned: expired });
    assert.deepEqual([...counts].sort(), [['A', 2], ['me', 0]]);
  });
});

describe('shuffle', () => {
  it('returns a permutation and leaves the input alone', () => {
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const out = shuffle(items, seeded(3));
    assert.deepEqual(items, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.notEqual(out, items);
    assert.deepEqual([...out].sort((a, b) => a - b), items);
  });

  it('is a Fisher-Yates shuffle driven by the given random', () => {
    // random() = 0 always swaps with index 0; random() -> 1 always swaps in place (identity).
    assert.deepEqual(shuffle([1, 2, 3, 4], () => 0), [2, 3, 4, 1]);
    assert.deepEqual(shuffle([1, 2, 3, 4], () => 0.999999), [1, 2, 3, 4]);
    assert.deepEqual(shuffle([1, 2, 3, 4, 5], seeded(11)), shuffle([1, 2, 3, 4, 5], seeded(11)));
  });

  it('handles empty and single-element lists', () => {
    assert.deepEqual(shuffle([], seeded(1)), []);
    assert.deepEqual(shuffle(['x'], seeded(1)), ['x']);
  });
});

describe('selectLeasesToTake', () => {
  it('takes nothing when the table is empty', () => {
    const s = selectLeasesToTake(input('me', []));
    assert.deepEqual(s.toTake, []);
    assert.deepEqual(s.steals, []);
  });

  it('counts distinct owners of live leases plus itself as the workers', () => {
    const all = [...leases('a', 4, 'A'), ...leases('b', 4, 'B'), ...leases('u', 4)];
    const s = selectLeasesToTake(input('me', all));
    assert.equal(s.numWorkers, 3);
    assert.equal(s.target, 4);
    // An owner that is this worker is not counted twice.
    const s2 = selectLeasesToTake(input('A', all));
    assert.equal(s2.numWorkers, 2);
    assert.equal(s2.target, 6);
  });

  it('takes available leases up to the deficit (target - mine)', () => {
    const all = [...leases('m', 2, 'me'), ...leases('a', 4, 'A'), ...leases('u', 6)];
    // 12 leases, 2 workers (me, A) -> target 6; I hold 2 -> take 4 of the 6 unowned.
    const s = selectLeasesToTake(input('me', all));
    assert.equal(s.target, 6);
    assert.equal(s.toTake.length, 4);
    assert.ok(s.toTake.every((l) => l.leaseOwner === undefined));
    assert.equal(new Set(keys(s.toTake)).size, 4);
    assert.deepEqual(s.steals, []);
  });

  it('never takes more than needed, even with many available', () => {
    const all = [...leases('m', 3, 'me'), ...leases('a', 4, 'A'), ...leases('u', 1)];
    // 8 leases, 2 workers -> target 4; I hold 3 -> take exactly 1.
    const s = selectLeasesToTake(input('me', all));
    assert.equal(s.toTake.length, 1);
    assert.deepEqual(keys(s.toTake), ['u-0']);
  });

  it('takes every available lease when fewer are available than needed', () => {
    const all = [...leases('u', 2), ...leases('a', 4, 'A')];
    // 6 leases, 2 workers -> target 3; only 2 available, and with available leases it does not steal.
    const s = selectLeasesToTake(input('me', all));
    assert.deepEqual(keys(s.toTake), ['u-0', 'u-1']);
    assert.deepEqual(s.steals, []);
  });

  it('takes nothing when already at or above target', () => {
    const all = [...leases('m', 4, 'me'), ...leases('a', 4, 'A'), ...leases('u', 1)];
    // 9 leases, 2 workers -> target 5; I hold 4 -> need 1.
    assert.equal(selectLeasesToTake(input('me', all)).toTake.length, 1);
    const full = [...leases('m', 5, 'me'), ...leases('a', 3, 'A'), ...leases('u', 1)];
    assert.deepEqual(selectLeasesToTake(input('me', full)).toTake, []);
  });

  it('respects maxLeasesForWorker through the target (spillover reported)', () => {
    const all = leases('u', 10);
    const s = selectLeasesToTake(input('me', all, { maxLeasesForWorker: 3 }));
    assert.equal(s.target, 3);
    assert.equal(s.spillover, 7);
    assert.equal(s.toTake.length, 3);
  });

  it('counts leases in expiredOrUnowned owned by others as available, not as that owner’s', () => {
    const all = [...leases('d', 4, 'Dead'), ...leases('a', 2, 'A')];
    const expired = new Set(['d-0', 'd-1', 'd-2', 'd-3']);
    const s = selectLeasesToTake(input('me', all, { expiredOrUnowned: expired }));
    // Dead is not a worker: workers are A and me -> target 3, and the expired leases are free to take.
    assert.equal(s.numWorkers, 2);
    assert.equal(s.target, 3);
    assert.equal(s.toTake.length, 3);
    assert.ok(s.toTake.every((l) => l.leaseOwner === 'Dead'));
    assert.deepEqual(s.steals, [], 'taking an expired lease is not a steal');
  });

  it('treats its own expired leases as available and not as its own', () => {
    const all = [...leases('m', 2, 'me'), ...leases('a', 2, 'A')];
    const s = selectLeasesToTake(input('me', all, { expiredOrUnowned: new Set(['m-0', 'm-1']) }));
    // me holds 0 live, target = ceil(4/2) = 2 -> takes its 2 expired leases back.
    assert.deepEqual(keys(s.toTake), ['m-0', 'm-1']);
  });

  describe('very old leases (enablePriorityLeaseAssignment)', () => {
    const all = [...leases('m', 2, 'me'), ...leases('v', 1, 'V'), ...leases('d', 3, 'Dead')];
    const expired = new Set(['d-0', 'd-1', 'd-2']);

    it('are taken first, all of them, ignoring the target', () => {
      // Workers me and V -> target 3; I hold 2 -> need 1, but the three very old leases are all taken.
      const s = selectLeasesToTake(input('me', all, { expiredOrUnowned: expired, veryOld: new Set(expired) }));
      assert.equal(s.target, 3);
      assert.deepEqual(keys(s.toTake), ['d-0', 'd-1', 'd-2']);
      assert.deepEqual(s.steals, []);
    });

    it('are taken even when this worker is already at target', () => {
      const atTarget = [...leases('m', 6, 'me'), ...leases('a', 4, 'A'), ...leases('d', 2, 'Dead')];
      const old = new Set(['d-0', 'd-1']);
      // 12 leases, workers me and A -> target 6; I hold 6 -> need 0, yet both very old leases are taken.
      const s = selectLeasesToTake(input('me', atTarget, { expiredOrUnowned: old, veryOld: old }));
      assert.equal(s.target, 6);
      assert.deepEqual(keys(s.toTake), ['d-0', 'd-1']);
      const off = selectLeasesToTake(input('me', atTarget, { expiredOrUnowned: old, veryOld: old, enablePriorityLeaseAssignment: false }));
      assert.deepEqual(off.toTake, [], 'without priority assignment the target rules');
    });

    it('are capped at maxLeasesForWorker - mine', () => {
      const s = selectLeasesToTake(input('me', all, { expiredOrUnowned: expired, veryOld: new Set(expired), maxLeasesForWorker: 3 }));
      assert.equal(s.toTake.length, 1);
      assert.ok(s.toTake.every((l) => expired.has(l.leaseKey)));
      const s0 = selectLeasesToTake(input('me', all, { expiredOrUnowned: expired, veryOld: new Set(expired), maxLeasesForWorker: 2 }));
      assert.deepEqual(s0.toTake, [], 'at the maximum: none, and no fallback to the ordinary path');
    });

    it('are taken before ordinary expired or unowned leases', () => {
      const mixed = [...leases('u', 5), ...leases('d', 2, 'Dead'), ...leases('a', 3, 'A')];
      const exp = new Set([...unownedKeys(mixed), 'd-0', 'd-1']);
      const s = selectLeasesToTake(input('me', mixed, { expiredOrUnowned: exp, veryOld: new Set(['d-0', 'd-1']) }));
      assert.deepEqual(keys(s.toTake), ['d-0', 'd-1']);
    });

    it('are ignored unless also available (e.g. held by this worker)', () => {
      const mine = [...leases('m', 2, 'me'), ...leases('a', 2, 'A')];
      const s = selectLeasesToTake(input('me', mine, { veryOld: new Set(['m-0', 'm-1']) }));
      assert.deepEqual(s.toTake, []);
    });

    it('are treated as ordinary expired leases when priority assignment is off', () => {
      const s = selectLeasesToTake(
        input('me', all, { expiredOrUnowned: expired, veryOld: new Set(expired), enablePriorityLeaseAssignment: false }),
      );
      // target 3, mine 2 -> just one.
      assert.equal(s.toTake.length, 1);
      assert.ok(expired.has(s.toTake[0]!.leaseKey));
    });
  });

  describe('stealing', () => {
    it('steals from the most loaded worker when nothing is available, capped by maxLeasesToStealAtOneTime', () => {
      const all = [...leases('a', 10, 'A')];
      // 2 workers -> target 5; need 5; A is 5 over target -> 5, capped at 2.
      const s = selectLeasesToTake(input('me', all, { maxLeasesToStealAtOneTime: 2 }));
      assert.equal(s.target, 5);
      assert.equal(s.toTake.length, 2);
      assert.deepEqual(s.steals, s.toTake);
      assert.ok(s.toTake.every((l) => l.leaseOwner === 'A'));
      const one = selectLeasesToTake(input('me', all, { maxLeasesToStealAtOneTime: 1 }));
      assert.equal(one.steals.length, 1);
      const many = selectLeasesToTake(input('me', all, { maxLeasesToStealAtOneTime: 100 }));
      assert.equal(many.steals.length, 5, 'min(needed 5, over-target 5)');
    });

    it('steals only from the most loaded worker, min(needed, its count - target)', () => {
      const all = [...leases('a', 6, 'A'), ...leases('b', 3, 'B')];
      // 3 workers, 9 leases -> target 3; need 3; A has 6 (3 over target).
      const s = selectLeasesToTake(input('me', all, { maxLeasesToStealAtOneTime: 10 }));
      assert.equal(s.steals.length, 3);
      assert.ok(s.steals.every((l) => l.leaseOwner === 'A'));
      const fewer = [...leases('a', 5, 'A'), ...leases('b', 4, 'B')];
      // target 3; need 3; A is 2 over target -> 2.
      const s2 = selectLeasesToTake(input('me', fewer, { maxLeasesToStealAtOneTime: 10 }));
      assert.equal(s2.steals.length, 2);
      assert.ok(s2.steals.every((l) => l.leaseOwner === 'A'));
    });

    it('does not steal when the most loaded worker is at target and only one lease is needed', () => {
      const all = [...leases('a', 5, 'A'), ...leases('b', 4, 'B'), ...leases('m', 4, 'me')];
      // 13 leases, 3 workers -> target 5; I need 1; A holds exactly 5.
      const s = selectLeasesToTake(input('me', all, { maxLeasesToStealAtOneTime: 5 }));
      assert.equal(s.target, 5);
      assert.deepEqual(s.toTake, []);
      assert.deepEqual(s.steals, []);
    });

    it('steals 1 when it needs more than 1 and the most loaded worker is exactly at target', () => {
      const all = [...leases('a', 2, 'A'), ...leases('b', 2, 'B')];
      // 4 leases, 3 workers -> target 2; I need 2; A and B hold exactly 2: take one anyway.
      const s = selectLeasesToTake(input('me', all, { maxLeasesToStealAtOneTime: 5 }));
      assert.equal(s.target, 2);
      assert.equal(s.steals.length, 1);
      assert.deepEqual(s.toTake, s.steals);
      assert.ok(['A', 'B'].includes(s.steals[0]!.leaseOwner!));
    });

    it('does not steal when no other worker holds leases', () => {
      const s = selectLeasesToTake(input('me', leases('m', 3, 'me')));
      assert.deepEqual(s.toTake, []);
    });

    it('steals the victim’s leases, no more than it is over target', () => {
      const all = [...leases('a', 6, 'A'), ...leases('m', 1, 'me')];
      const s = selectLeasesToTake(input('me', all, { maxLeasesToStealAtOneTime: 10 }));
      // target 4 (7 leases / 2 workers); need 3; A is 2 over -> 2 of A's.
      assert.equal(s.steals.length, 2);
      for (const l of s.steals) assert.ok(l.leaseKey.startsWith('a-'));
    });
  });

  describe('convergence: 12 leases, 3 workers', () => {
    type Mode = 'sequential' | 'simultaneous';

    /** Rounds of A, B, C taking in turn against one table; takes are conditional on the counter, like DynamoDB. */
    function simulate(steal: number, initialOwner: string | undefined, mode: Mode, seed: number): { convergedAt: number; history: string[]; movesAfter: number } {
      const table = leases('shard', 12, initialOwner);
      const workers = ['A', 'B', 'C'];
      const random = seeded(seed);
      const history: string[] = [];
      let convergedAt = 0;
      let movesAfter = 0;
      for (let round = 1; round <= 20; round++) {
        const snapshot = structuredClone(table);
        for (const w of workers) {
          const view = mode === 'sequential' ? structuredClone(table) : snapshot;
          const sel = selectLeasesToTake({
            workerId: w,
            leases: view,
            expiredOrUnowned: unownedKeys(view),
            veryOld: new Set(),
            maxLeasesForWorker: Number.MAX_SAFE_INTEGER,
            maxLeasesToStealAtOneTime: steal,
            enablePriorityLeaseAssignment: true,
            random,
          });
          for (const chosen of sel.toTake) {
            const row = table.find((l) => l.leaseKey === chosen.leaseKey)!;
            if (row.leaseCounter !== chosen.leaseCounter) continue; // lost the conditional write
            row.leaseOwner = w;
            row.leaseCounter++;
            if (convergedAt > 0) movesAfter++;
          }
        }
        const counts = workers.map((w) => table.filter((l) => l.leaseOwner === w).length);
        history.push(counts.join(','));
        if (convergedAt === 0 && counts.every((c) => c === 4)) convergedAt = round;
      }
      return { convergedAt, history, movesAfter };
    }

    for (const [steal, bound] of [
      [1, 6],
      [2, 4],
    ] as const) {
      for (const initialOwner of ['A', undefined]) {
        for (const mode of ['sequential', 'simultaneous'] as const) {
          it(`every worker ends with 4 within ${bound} rounds (maxLeasesToStealAtOneTime ${steal}, leases ${initialOwner ? 'all on A' : 'unowned'}, ${mode} scans)`, () => {
            for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
              const r = simulate(steal, initialOwner, mode, seed);
              assert.ok(r.convergedAt > 0 && r.convergedAt <= bound, `seed ${seed}: converged at ${r.convergedAt}: ${r.history.join(' | ')}`);
              assert.equal(r.movesAfter, 0, `seed ${seed}: leases kept moving after balance: ${r.history.join(' | ')}`);
            }
          });
        }
      }
    }

    it('converges in the expected number of rounds with sequential takers (steal 1: 4 rounds, steal 2: 2 rounds)', () => {
      assert.deepEqual(simulate(1, 'A', 'sequential', 1).history.slice(0, 4), ['10,1,1', '8,2,2', '6,3,3', '4,4,4']);
      assert.deepEqual(simulate(2, 'A', 'sequential', 1).history.slice(0, 2), ['8,2,2', '4,4,4']);
    });
  });
});
