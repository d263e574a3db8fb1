/**
 * The few java.util behaviours the 3.x assignment decisions depend on, reproduced so that ts-kcl
 * and a Java leader order ties the same way: HashMap iteration order for String keys,
 * PriorityQueue's binary heap, Double.compare, Collections.shuffle, and the compensated
 * (Kahan) summation behind DoubleStream.average() / Collectors.averagingDouble.
 */

/** java.lang.String.hashCode over UTF-16 code units; undefined plays Java's null key (hash 0). */
export function javaStringHashCode(s: string | undefined): number {
  if (s === undefined) return 0;
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Table size of a java.util.HashMap after `size` puts into `new HashMap<>()` (16, doubling past 0.75). */
function hashMapCapacity(size: number): number {
  let capacity = 16;
  while (size > capacity * 0.75) capacity *= 2;
  return capacity;
}

/**
 * The order a java.util.HashMap<String, V> iterates `keys` (given in insertion order): by bucket
 * (spread hash & (capacity - 1)), insertion order within a bucket (resizes keep it).
 */
export function javaHashMapOrder<K extends string | undefined>(keys: readonly K[]): K[] {
  const mask = hashMapCapacity(keys.length) - 1;
  const bucket = (k: K): number => {
    const h = javaStringHashCode(k);
    return (h ^ (h >>> 16)) & mask;
  };
  return keys.map((k, i) => ({ k, i, b: bucket(k) })).sort((x, y) => x.b - y.b || x.i - y.i).map((e) => e.k);
}

/** Double.compare: -0.0 < 0.0 and NaN above everything (equal to itself). */
export function javaDoubleCompare(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  if (a === 0 && b === 0) return Object.is(a, b) ? 0 : Object.is(a, -0) ? -1 : 1;
  return 0;
}

/** The random source Collections.shuffle draws from (java.util.Random's nextInt in production). */
export interface ShuffleRandom {
  nextInt(bound: number): number;
}

/** Collections.shuffle(list, rnd) for a random-access list: swap(i - 1, rnd.nextInt(i)) from the end. */
export function javaShuffleInPlace<T>(list: T[], random: ShuffleRandom): void {
  for (let i = list.length; i > 1; i--) {
    const j = random.nextInt(i);
    const tmp = list[i - 1]!;
    list[i - 1] = list[j]!;
    list[j] = tmp;
  }
}

/** DoubleStream.average() / Collectors.averagingDouble: Kahan-compensated sum over the count. */
export function javaAverage(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let sum = 0;
  let compensation = 0;
  let simpleSum = 0;
  for (const value of values) {
    const tmp = value - compensation;
    const velvel = sum + tmp;
    compensation = velvel - sum - tmp;
    sum = velvel;
    simpleSum += value;
  }
  const total = sum - compensation;
  return (Number.isNaN(total) && !Number.isFinite(simpleSum) && !Number.isNaN(simpleSum) ? simpleSum : total) / values.length;
}

/**
 * java.util.PriorityQueue with a comparator: the same sift-up/sift-down, so equal elements come
 * out in the same order as in Java given the same insertion order.
 */
export class JavaPriorityQueue<T> {
  private readonly queue: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.queue.length;
  }

  add(x: T): void {
    const es = this.queue;
    let k = es.length;
    es.push(x);
    while (k > 0) {
      const parent = (k - 1) >>> 1;
      const e = es[parent]!;
      if (this.compare(x, e) >= 0) break;
      es[k] = e;
      k = parent;
    }
    es[k] = x;
  }

  poll(): T | undefined {
    const es = this.queue;
    if (es.length === 0) return undefined;
    const result = es[0];
    const x = es.pop()!;
    const n = es.length;
    if (n > 0) {
      let k = 0;
      const half = n >>> 1;
      while (k < half) {
        let child = 2 * k + 1;
        let c = es[child]!;
        const right = child + 1;
        if (right < n && this.compare(c, es[right]!) > 0) c = es[(child = right)]!;
        if (this.compare(x, c) <= 0) break;
        es[k] = c;
        k = child;
      }
      es[k] = x;
    }
    return result;
  }
}
