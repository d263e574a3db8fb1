// The soak's fault plan: a pure function of the seed, so a red run can be replayed.
import { between, pickOne, seeded } from './random.ts';

export type PlannedAction =
  | { kind: 'split'; at: number }
  | { kind: 'merge'; at: number }
  | { kind: 'kill9'; at: number; worker: string; restartAfterMs: number }
  | { kind: 'sigterm'; at: number; worker: string }
  | { kind: 'sigstop'; at: number; worker: string; forMs: number }
  | { kind: 'blackout'; at: number; forMs: number }
  | { kind: 'isolate'; at: number; worker: string; forMs: number };

/**
 * One cycle of every scheduled fault per minute of the fault phase (at least one), at jittered offsets:
 * split, kill -9 and restart (then SIGTERM during its start-up and restart), SIGSTOP past the failover time,
 * merge, a DynamoDB blackout of two failover
 * times, SIGTERM and restart, one worker cut off from DynamoDB past the failover time.
 */
export function planFaults(seed: number, phaseMs: number, workers: readonly string[], failoverMs: number): PlannedAction[] {
  const random = seeded(seed * 7919 + 1);
  const cycles = Math.max(1, Math.floor(phaseMs / 60000));
  const cycleMs = phaseMs / cycles;
  const plan: PlannedAction[] = [];
  for (let c = 0; c < cycles; c++) {
    const base = c * cycleMs;
    const at = (fraction: number): number => Math.round(base + cycleMs * fraction + between(random, 0, cycleMs * 0.03));
    // Different victims for the faults that overlap in effect.
    const order = [...workers];
    for (let i = order.length - 1; i > 0; i--) {
      const j = between(random, 0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const victim = (i: number): string => order[i % order.length] ?? pickOne(random, workers);
    const past = Math.round(failoverMs * 1.7);
    plan.push(
      { kind: 'split', at: at(0.06) },
      { kind: 'kill9', at: at(0.14), worker: victim(0), restartAfterMs: between(random, 500, 1500) },
      { kind: 'sigstop', at: at(0.26), worker: victim(1), forMs: past },
      { kind: 'merge', at: at(0.42) },
      { kind: 'blackout', at: at(0.52), forMs: 2 * failoverMs },
      { kind: 'sigterm', at: at(0.68), worker: victim(2) },
      { kind: 'isolate', at: at(0.8), worker: victim(3), forMs: past },
    );
  }
  return plan.sort((a, b) => a.at - b.at);
}
