import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumerState, ShutdownReason, TRANSITIONS, canTransition, shutdownRank } from '../../src/lifecycle/consumer-states.ts';

const STATES = Object.values(ConsumerState);

/*
 * The Java KCL's consumer state machine (ConsumerStates), as ts-kcl models it:
 * - WAITING_ON_PARENT_SHARDS: parents done -> INITIALIZING; any shutdown -> SHUTTING_DOWN.
 * - INITIALIZING: initialized -> PROCESSING; lease lost / shutdown -> SHUTTING_DOWN.
 * - PROCESSING: shutdown requested -> SHUTDOWN_REQUESTED; shard end / lease lost -> SHUTTING_DOWN.
 * - SHUTDOWN_REQUESTED: -> SHUTTING_DOWN.
 * - SHUTTING_DOWN: -> SHUTDOWN_COMPLETE.
 */
const EXPECTED: [ConsumerState, ConsumerState][] = [
  ['WAITING_ON_PARENT_SHARDS', 'INITIALIZING'],
  ['WAITING_ON_PARENT_SHARDS', 'SHUTTING_DOWN'],
  ['INITIALIZING', 'PROCESSING'],
  ['INITIALIZING', 'SHUTTING_DOWN'],
  ['PROCESSING', 'SHUTDOWN_REQUESTED'],
  ['PROCESSING', 'SHUTTING_DOWN'],
  ['SHUTDOWN_REQUESTED', 'SHUTTING_DOWN'],
  ['SHUTTING_DOWN', 'SHUTDOWN_COMPLETE'],
];

describe('consumer states', () => {
  it('names the six KCL states', () => {
    assert.deepEqual([...STATES].sort(), [
      'INITIALIZING',
      'PROCESSING',
      'SHUTDOWN_COMPLETE',
      'SHUTDOWN_REQUESTED',
      'SHUTTING_DOWN',
      'WAITING_ON_PARENT_SHARDS',
    ]);
    for (const [k, v] of Object.entries(ConsumerState)) assert.equal(k, v);
    assert.deepEqual(Object.keys(TRANSITIONS).sort(), [...STATES].sort());
  });

  it('allows exactly the KCL transitions (every pair checked)', () => {
    const allowed = new Set(EXPECTED.map(([a, b]) => `${a}->${b}`));
    for (const from of STATES) {
      for (const to of STATES) {
        assert.equal(canTransition(from, to), allowed.has(`${from}->${to}`), `${from} -> ${to}`);
      }
    }
  });

  it('has no self-transitions and never goes back to an earlier state', () => {
    const order: ConsumerState[] = ['WAITING_ON_PARENT_SHARDS', 'INITIALIZING', 'PROCESSING', 'SHUTDOWN_REQUESTED', 'SHUTTING_DOWN', 'SHUTDOWN_COMPLETE'];
    for (const from of STATES) {
      for (const to of TRANSITIONS[from]) assert.ok(order.indexOf(to) > order.indexOf(from), `${from} -> ${to}`);
    }
  });

  it('SHUTDOWN_COMPLETE is terminal', () => {
    assert.deepEqual(TRANSITIONS.SHUTDOWN_COMPLETE, []);
    for (const to of STATES) assert.equal(canTransition('SHUTDOWN_COMPLETE', to), false, to);
  });

  it('every state can reach SHUTDOWN_COMPLETE', () => {
    for (const start of STATES) {
      const seen = new Set<ConsumerState>([start]);
      const queue = [start];
      while (queue.length > 0) {
        for (const next of TRANSITIONS[queue.shift()!]) {
          if (!seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
      assert.ok(seen.has('SHUTDOWN_COMPLETE'), start);
    }
  });

  it('every state is reachable from WAITING_ON_PARENT_SHARDS', () => {
    const seen = new Set<ConsumerState>(['WAITING_ON_PARENT_SHARDS']);
    const queue: ConsumerState[] = ['WAITING_ON_PARENT_SHARDS'];
    while (queue.length > 0) for (const next of TRANSITIONS[queue.shift()!]) if (!seen.has(next) && seen.add(next)) queue.push(next);
    assert.deepEqual([...seen].sort(), [...STATES].sort());
  });

  it('every state before SHUTTING_DOWN can move to it directly (lease loss)', () => {
    for (const s of ['WAITING_ON_PARENT_SHARDS', 'INITIALIZING', 'PROCESSING', 'SHUTDOWN_REQUESTED'] as const) {
      assert.equal(canTransition(s, 'SHUTTING_DOWN'), true, s);
    }
    assert.equal(canTransition('WAITING_ON_PARENT_SHARDS', 'PROCESSING'), false, 'initialize is never skipped');
    assert.equal(canTransition('WAITING_ON_PARENT_SHARDS', 'SHUTDOWN_COMPLETE'), false, 'shut down is never skipped');
  });

  it('orders shutdown reasons REQUESTED < SHARD_END < LEASE_LOST', () => {
    assert.deepEqual(Object.keys(shutdownRank).sort(), Object.values(ShutdownReason).sort());
    assert.ok(shutdownRank.REQUESTED < shutdownRank.SHARD_END);
    assert.ok(shutdownRank.SHARD_END < shutdownRank.LEASE_LOST);
    const sorted = Object.values(ShutdownReason).sort((a, b) => shutdownRank[a] - shutdownRank[b]);
    assert.deepEqual(sorted, ['REQUESTED', 'SHARD_END', 'LEASE_LOST']);
  });
});
