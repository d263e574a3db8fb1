import type { Lease } from './lease.ts';

/**
 * The Java KCL 2.x taker's decisions (DynamoDBLeaseTaker), as a pure function so they can be tested
 * without servers: which leases to take this round, and which of them are steals.
 */
export interface SelectionInput {
  workerId: string;
  leases: Lease[];
  /** Keys of leases that are available: unowned, or owned but not renewed for failoverTimeMs. */
  expiredOrUnowned: Set<string>;
  /** Keys of owned leases not renewed for 3 x failoverTimeMs (their owner is surely gone). */
  veryOld: Set<string>;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  enablePriorityLeaseAssignment: boolean;
  random?: () => number;
}

export interface Selection {
  toTake: Lease[];
  /** Part of toTake that other live workers hold. */
  steals: Lease[];
  target: number;
  numWorkers: number;
  /** Leases above maxLeasesForWorker that the target had to leave (Java LeaseSpillover). */
  spillover: number;
}

export function shuffle<T>(items: T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Live leases per owner, with this worker counted even when it holds none. */
export function countLeasesPerWorker(input: Pick<SelectionInput, 'workerId' | 'leases' | 'expiredOrUnowned'>): Map<string, number> {
  const counts = new Map<string, number>([[input.workerId, 0]]);
  for (const lease of input.leases) {
    if (lease.leaseOwner === undefined || input.expiredOrUnowned.has(lease.leaseKey)) continue;
    counts.set(lease.leaseOwner, (counts.get(lease.leaseOwner) ?? 0) + 1);
  }
  return counts;
}

/** target = 1 when there are at least as many workers as leases, else ceil(leases / workers), capped. */
export function computeTarget(numLeases: number, numWorkers: number, maxLeasesForWorker: number): { target: number; spillover: number } {
  const uncapped = numWorkers >= numLeases ? 1 : Math.ceil(numLeases / numWorkers);
  const target = Math.min(uncapped, maxLeasesForWorker);
  return { target, spillover: uncapped - target };
}

export function selectLeasesToTake(input: SelectionInput): Selection {
  const random = input.random ?? Math.random;
  const counts = countLeasesPerWorker(input);
  const numWorkers = counts.size;
  const mine = counts.get(input.workerId) ?? 0;
  const { target, spillover } = computeTarget(input.leases.length, numWorkers, input.maxLeasesForWorker);
  const available = input.leases.filter((l) => input.expiredOrUnowned.has(l.leaseKey));
  const result = { numWorkers, target, spillover, steals: [] as Lease[] };

  // Leases whose owner has been silent for 3 failover times are taken first, whatever the target.
  if (input.enablePriorityLeaseAssignment) {
    const veryOld = available.filter((l) => input.veryOld.has(l.leaseKey));
    if (veryOld.length > 0) {
      return { ...result, toTake: shuffle(veryOld, random).slice(0, Math.max(0, input.maxLeasesForWorker - mine)) };
    }
  }

  const needed = target - mine;
  if (needed <= 0) return { ...result, toTake: [] };
  if (available.length > 0) return { ...result, toTake: shuffle(available, random).slice(0, needed) };

  const steals = chooseLeasesToSteal(input, counts, target, needed, random);
  return { ...result, toTake: steals, steals };
}

/** Steals from the most loaded worker only what brings it toward the target, capped per round. */
function chooseLeasesToSteal(input: SelectionInput, counts: Map<string, number>, target: number, needed: number, random: () => number): Lease[] {
  let mostLoaded: string | undefined;
  let most = 0;
  for (const [worker, count] of counts) {
    if (worker !== input.workerId && count > most) [mostLoaded, most] = [worker, count];
  }
  if (mostLoaded === undefined || most < target) return [];
  let count = Math.min(needed, most - target);
  if (needed > 1 && count === 0) count = 1; // two workers at target while we need several: take one
  count = Math.min(count, input.maxLeasesToStealAtOneTime);
  const theirs = input.leases.filter((l) => l.leaseOwner === mostLoaded && !input.expiredOrUnowned.has(l.leaseKey));
  return shuffle(theirs, random).slice(0, count);
}
