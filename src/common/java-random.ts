/**
 * java.util.Random and Collections.shuffle, bit for bit, so ts-kcl elects the same shard-sync leader
 * as Java KCL 2.x workers sharing the table (DeterministicShuffleShardSyncLeaderDecider, seed 1947).
 */
const MULTIPLIER = 0x5deece66dn;
const MASK = (1n << 48n) - 1n;

export class JavaRandom {
  private seed: bigint;
  constructor(seed: number) {
    this.seed = (BigInt(seed) ^ MULTIPLIER) & MASK;
  }

  private next(bits: number): number {
    this.seed = (this.seed * MULTIPLIER + 0xbn) & MASK;
    return Number(BigInt.asIntN(32, this.seed >> BigInt(48 - bits)));
  }

  nextInt(bound: number): number {
    if ((bound & -bound) === bound) return Number((BigInt(bound) * BigInt(this.next(31))) >> 31n);
    let bits: number;
    let val: number;
    do {
      bits = this.next(31);
      val = bits % bound;
    } while (bits - val + (bound - 1) < 0 || bits - val + (bound - 1) > 0x7fffffff);
    return val;
  }
}

export function javaShuffle<T>(list: T[], random: JavaRandom): T[] {
  const out = [...list];
  for (let i = out.length; i > 1; i--) {
    const j = random.nextInt(i);
    [out[i - 1], out[j]] = [out[j]!, out[i - 1]!];
  }
  return out;
}
