import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JavaRandom, javaShuffle } from '../../src/common/java-random.ts';

/*
 * Every expected value below was printed by real Java (OpenJDK 17.0.15), e.g.:
 *   Random r = new java.util.Random(1947); r.nextInt(bound) ... (10 calls per bound, fresh Random each bound)
 *   List l = sorted ids; Collections.shuffle(l, new java.util.Random(1947)); System.out.println(l);
 */

// new java.util.Random(1947).nextInt(bound), ten calls in a row, a fresh Random per bound.
const NEXT_INT_1947: [number, number[]][] = [
  [1, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  [2, [1, 0, 0, 0, 0, 0, 1, 0, 1, 1]],
  [3, [1, 1, 2, 1, 1, 0, 0, 1, 1, 1]],
  [5, [3, 0, 0, 4, 2, 3, 1, 0, 0, 0]],
  [6, [1, 1, 5, 1, 4, 0, 3, 4, 1, 1]],
  [7, [1, 1, 6, 2, 5, 6, 1, 1, 4, 4]],
  [8, [5, 2, 0, 2, 3, 3, 5, 3, 5, 6]],
  [10, [3, 5, 5, 9, 2, 8, 1, 0, 5, 5]],
  [16, [10, 5, 0, 4, 7, 7, 11, 7, 11, 13]],
  [17, [5, 2, 9, 2, 1, 1, 2, 15, 8, 11]],
  [100, [63, 25, 95, 69, 2, 18, 61, 0, 65, 95]],
  [1024, [643, 343, 30, 263, 499, 492, 713, 474, 766, 883]],
  [1000000, [857363, 977525, 954995, 873169, 619502, 571118, 767561, 805700, 935565, 953295]],
  [1073741824, [674928681, 359988762, 31977497, 276436584, 523309751, 516785559, 747883780, 497902850, 803467782, 926476647]],
  // 2^30 + 1 and 2^31 - 1: large non-power-of-two bounds exercise Java's rejection loop (some draws are discarded).
  [1073741825, [719977525, 63954995, 552873169, 1046619502, 1033571118, 995805700, 980392342, 667615324, 382950964, 615651435]],
  [2147483647, [1349857363, 719977525, 63954995, 552873169, 1046619502, 1033571118, 1495767561, 995805700, 1606935565, 1852953295]],
];

// Collections.shuffle(sorted list, new java.util.Random(1947)).
const SHUFFLE_WORKERS_1947: [string[], string[]][] = [
  [['worker-1'], ['worker-1']],
  [['worker-1', 'worker-2'], ['worker-1', 'worker-2']],
  [['worker-1', 'worker-2', 'worker-3'], ['worker-3', 'worker-1', 'worker-2']],
  [['worker-1', 'worker-2', 'worker-3', 'worker-4'], ['worker-4', 'worker-1', 'worker-2', 'worker-3']],
  [['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5'], ['worker-5', 'worker-1', 'worker-3', 'worker-2', 'worker-4']],
  [
    ['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5', 'worker-6'],
    ['worker-3', 'worker-4', 'worker-6', 'worker-5', 'worker-1', 'worker-2'],
  ],
];

// Java's sorted order of some realistic ids (String.compareTo: UTF-16 code units, so 'H' < 'h', 'worker-10' < 'worker-2').
const HOSTS_SORTED = ['Host-9', 'host-123-0001', 'host-123-abcd', 'host-7-ffff', 'ip-10-0-1-17.ec2.internal-4242-9c1e', 'worker-10', 'worker-2'];

// Collections.shuffle(HOSTS_SORTED.subList(0, n), new java.util.Random(1947)) for n = 1..7.
const SHUFFLE_HOSTS_1947: string[][] = [
  ['Host-9'],
  ['Host-9', 'host-123-0001'],
  ['host-123-abcd', 'Host-9', 'host-123-0001'],
  ['host-7-ffff', 'Host-9', 'host-123-0001', 'host-123-abcd'],
  ['ip-10-0-1-17.ec2.internal-4242-9c1e', 'Host-9', 'host-123-abcd', 'host-123-0001', 'host-7-ffff'],
  ['host-123-abcd', 'host-7-ffff', 'worker-10', 'ip-10-0-1-17.ec2.internal-4242-9c1e', 'Host-9', 'host-123-0001'],
  ['host-123-abcd', 'ip-10-0-1-17.ec2.internal-4242-9c1e', 'host-7-ffff', 'worker-10', 'Host-9', 'worker-2', 'host-123-0001'],
];

// Collections.shuffle([0..19], new java.util.Random(1947)).
const SHUFFLE_20_1947 = [14, 0, 11, 10, 4, 9, 8, 17, 15, 16, 12, 13, 6, 1, 19, 7, 2, 5, 18, 3];

describe('JavaRandom', () => {
  for (const [bound, expected] of NEXT_INT_1947) {
    it(`new Random(1947).nextInt(${bound}) matches Java 17`, () => {
      const r = new JavaRandom(1947);
      assert.deepEqual(
        Array.from({ length: expected.length }, () => r.nextInt(bound)),
        expected,
      );
    });
  }

  it('matches Java for other seeds, including 0 and negative seeds', () => {
    // From Java 17: new Random(seed).nextInt(10) x 5.
    const cases: [number, number[]][] = [
      [0, [0, 8, 9, 7, 5]],
      [42, [0, 3, 8, 4, 0]],
      [-1, [3, 5, 9, 9, 4]],
    ];
    for (const [seed, expected] of cases) {
      const r = new JavaRandom(seed);
      assert.deepEqual(
        Array.from({ length: 5 }, () => r.nextInt(10)),
        expected,
        `seed ${seed}`,
      );
    }
  });

  it('two generators with the same seed produce the same stream', () => {
    const a = new JavaRandom(1947);
    const b = new JavaRandom(1947);
    for (let i = 0; i < 100; i++) assert.equal(a.nextInt(1000 + i), b.nextInt(1000 + i));
  });

  it('always returns an integer in [0, bound)', () => {
    const r = new JavaRandom(123);
    for (const bound of [1, 2, 3, 7, 64, 1000, 2 ** 31 - 1]) {
      for (let i = 0; i < 200; i++) {
        const v = r.nextInt(bound);
        assert.ok(Number.isInteger(v) && v >= 0 && v < bound, `${v} for bound ${bound}`);
      }
    }
  });
});

describe('javaShuffle', () => {
  for (const [input, expected] of SHUFFLE_WORKERS_1947) {
    it(`matches Collections.shuffle for ${input.length} worker id(s)`, () => {
      assert.deepEqual(javaShuffle(input, new JavaRandom(1947)), expected);
    });
  }

  it('matches Collections.shuffle for realistic host ids (1..7 of them)', () => {
    assert.deepEqual([...HOSTS_SORTED].reverse().sort(), HOSTS_SORTED, 'JS sort agrees with Java String order');
    SHUFFLE_HOSTS_1947.forEach((expected, i) => {
      assert.deepEqual(javaShuffle(HOSTS_SORTED.slice(0, i + 1), new JavaRandom(1947)), expected, `n = ${i + 1}`);
    });
  });

  it('matches Collections.shuffle for 20 integers', () => {
    assert.deepEqual(
      javaShuffle(
        Array.from({ length: 20 }, (_, i) => i),
        new JavaRandom(1947),
      ),
      SHUFFLE_20_1947,
    );
  });

  it('does not modify its input, and handles an empty list', () => {
    const input = ['a', 'b', 'c', 'd'];
    const out = javaShuffle(input, new JavaRandom(1947));
    assert.deepEqual(input, ['a', 'b', 'c', 'd']);
    assert.notEqual(out, input);
    assert.deepEqual(javaShuffle([], new JavaRandom(1947)), []);
  });
});
