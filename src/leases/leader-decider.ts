import type { Lease } from './lease.ts';
import { JavaRandom, javaShuffle } from '../common/java-random.ts';

/**
 * Java KCL 2.x DeterministicShuffleShardSyncLeaderDecider: sort the distinct lease owners, shuffle
 * them with java.util.Random(1947), the first is the leader; with no owners every worker leads.
 * Reproduced exactly so a mixed Java/ts-kcl fleet agrees on one leader.
 */
export function isLeader(workerId: string, leases: Lease[]): boolean {
  const owners = [...new Set(leases.map((l) => l.leaseOwner).filter((o): o is string => o !== undefined))].sort();
  if (owners.length === 0) return true;
  return javaShuffle(owners, new JavaRandom(1947))[0] === workerId;
}
