import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkSoak, type SoakEvent, type SoakInput, type Put } from './checks.ts';

// A small clean history: shard A (open) read by w1 then handed over gracefully to w2; parent P (closed)
// read by w1 to its end, then its child C read by w2. Each test breaks one rule and expects exactly it.
const put = (id: string, key: string, n: number, shardId: string, seq: string, at = 0): Put => ({ id, key, n, shardId, seq, at });
const rec = (w: string, p: number, at: number, shardId: string, pairs: [string, string][]): SoakEvent => ({ w, p, at, t: 'rec', shardId, d: pairs.map((x) => x[0]), s: pairs.map((x) => x[1]) });
const ev = (w: string, p: number, at: number, t: string, extra: Partial<SoakEvent> = {}): SoakEvent => ({ w, p, at, t, ...extra });

function clean(): SoakInput {
  return {
    puts: [put('a1', 'k1', 0, 'A', '10'), put('a2', 'k1', 1, 'A', '20'), put('a3', 'k1', 2, 'A', '30'), put('a4', 'k1', 3, 'A', '40'), put('p1', 'k2', 0, 'P', '1'), put('c1', 'k2', 1, 'C', '5')],
    events: [
      ev('w1', 1, 100, 'init', { shardId: 'A', from: 'TRIM_HORIZON' }),
      rec('w1', 1, 110, 'A', [['a1', '10'], ['a2', '20']]),
      ev('w1', 1, 111, 'cp', { shardId: 'A', seq: '20' }),
      ev('w1', 1, 120, 'init', { shardId: 'P', from: 'TRIM_HORIZON' }),
      rec('w1', 1, 130, 'P', [['p1', '1']]),
      ev('w1', 1, 131, 'cp', { shardId: 'P', seq: '1' }),
      ev('w1', 1, 140, 'cp', { shardId: 'P', seq: 'SHARD_END' }),
      ev('w1', 1, 141, 'shardEnded', { shardId: 'P' }),
      ev('w1', 1, 150, 'shutdownRequested', { shardId: 'A' }),
      ev('w1', 1, 160, 'processExit', { code: 0, signal: null }),
      ev('w2', 2, 170, 'init', { shardId: 'A', from: '20' }),
      rec('w2', 2, 180, 'A', [['a3', '30'], ['a4', '40']]),
      ev('w2', 2, 181, 'cp', { shardId: 'A', seq: '40' }),
      ev('w2', 2, 190, 'init', { shardId: 'C', from: 'TRIM_HORIZON' }),
      rec('w2', 2, 200, 'C', [['c1', '5']]),
      ev('w2', 2, 201, 'cp', { shardId: 'C', seq: '5' }),
    ],
    faults: [],
    shards: [
      { shardId: 'A', parents: [], closed: false },
      { shardId: 'P', parents: [], closed: true },
      { shardId: 'C', parents: ['P'], closed: false },
    ],
    table: [
      { leaseKey: 'A', checkpoint: '40' },
      { leaseKey: 'P', checkpoint: 'SHARD_END' },
      { leaseKey: 'C', checkpoint: '5' },
    ],
    failoverMs: 3000,
    takerMs: 1000,
    requestTimeoutMs: 3000,
    slackMs: 0,
    stuckOnStop: [],
  };
}

const rules = (input: SoakInput): string[] => [...new Set(checkSoak(input).violations.map((v) => v.rule))].sort();

describe('soak checks', () => {
  it('find nothing wrong with a clean history, and count it', () => {
    const verdict = checkSoak(clean());
    assert.deepEqual(verdict.violations, []);
    assert.equal(verdict.figures.acknowledged, 6);
    assert.equal(verdict.figures.unique, 6);
    assert.equal(verdict.figures.duplicates, 0);
    assert.equal(verdict.figures.tenures, 4);
  });

  it('detect a lost record (and the final checkpoint it leaves behind)', () => {
    const input = clean();
    input.events[11] = rec('w2', 2, 180, 'A', [['a3', '30']]);
    input.events[12] = ev('w2', 2, 181, 'cp', { shardId: 'A', seq: '30' });
    input.table[0] = { leaseKey: 'A', checkpoint: '30' };
    assert.deepEqual(rules(input), ['allProcessed', 'finalTable']);
  });

  it('detect a tenure delivering out of order', () => {
    const input = clean();
    input.events[1] = rec('w1', 1, 110, 'A', [['a2', '20'], ['a1', '10']]);
    assert.deepEqual(rules(input), ['tenureGap', 'tenureOrder']);
  });

  it('detect a gap inside a tenure', () => {
    const input = clean();
    input.puts.push(put('a15', 'k9', 0, 'A', '15'));
    assert.deepEqual(rules(input), ['allProcessed', 'tenureGap']);
  });

  it('detect redelivery below an acknowledged checkpoint (a lease recreated at TRIM_HORIZON)', () => {
    const input = clean();
    input.events.push(ev('w3', 3, 300, 'init', { shardId: 'A', from: 'TRIM_HORIZON' }), rec('w3', 3, 310, 'A', [['a1', '10']]));
    const verdict = checkSoak(input);
    assert.deepEqual(rules(input), ['duplicatesBounded']);
    assert.equal(verdict.figures.duplicates, 1);
  });

  it('allow redelivery past the last acknowledged checkpoint, and count it against the bound', () => {
    const input = clean();
    // w2 takes A from 20 while w1 delivered 30 and 40 but never checkpointed them.
    input.events.splice(2, 0, rec('w1', 1, 112, 'A', [['a3', '30'], ['a4', '40']]));
    const verdict = checkSoak(input);
    assert.deepEqual(verdict.violations, []);
    assert.equal(verdict.figures.duplicates, 2);
    assert.ok(verdict.figures.duplicateBound >= 2);
  });

  it('detect a child record processed before its parent record of the same key', () => {
    const input = clean();
    input.events[14] = rec('w2', 2, 125, 'C', [['c1', '5']]);
    assert.deepEqual(rules(input), ['childAfterParent']);
  });

  it('detect a woken zombie that checkpoints a lost shard and keeps delivering', () => {
    const input = clean();
    input.faults.push({ kind: 'sigstop', at: 112, until: 168, excuseUntil: 200, workers: ['w1'] });
    input.events.splice(10, 0, rec('w1', 1, 171, 'A', [['a3', '30']]), ev('w1', 1, 172, 'cp', { shardId: 'A', seq: '30' }), rec('w1', 1, 173, 'A', [['a4', '40']]));
    input.events.splice(8, 2); // w1 neither shut down nor exited: it was stopped
    const found = rules(input);
    assert.ok(found.includes('zombieCheckpoint'), found.join());
    assert.ok(found.includes('zombieStops'), found.join());
  });

  it('detect two workers delivering one shard at once beyond the renewal window', () => {
    const input = clean();
    input.events.splice(8, 2); // w1 keeps A (it never shuts down) ...
    input.events.push(rec('w1', 1, 2000, 'A', [['a3', '30']])); // ... and delivers long after w2 began
    input.events.push(rec('w2', 2, 2100, 'A', [['a3', '30']])); // while w2 delivers too
    assert.ok(rules(input).includes('exclusive'));
  });

  it('count only the time both delivered: a short tenure that ended early is no long overlap', () => {
    const input = clean();
    input.events.splice(8, 2); // w1 keeps A and delivers long after w2 began, but w2 stopped at once
    input.events.push(rec('w1', 1, 2000, 'A', [['a3', '30']]));
    assert.ok(!rules(input).includes('exclusive'), rules(input).join());
  });

  it('detect a record that waited too long, unless a planned fault explains it', () => {
    const input = clean();
    input.puts[5] = put('c1', 'k2', 1, 'C', '5', -10000);
    assert.deepEqual(rules(input), ['recordWait']);
    input.faults.push({ kind: 'blackout', at: -9000, until: -5000, excuseUntil: 0, workers: [] });
    assert.deepEqual(rules(input), []);
  });

  it('detect a checkpoint moving backwards', () => {
    const input = clean();
    input.events.push(ev('w2', 2, 210, 'cp', { shardId: 'A', seq: '30' }));
    assert.deepEqual(rules(input), ['checkpointBackwards']);
  });

  it('count a checkpoint at the holder\'s last value as nothing stored, even after another holder stored more', () => {
    // w1 lost A silently (taken at 170) and checkpoints its last value again before it learns: a no-op write.
    const input = clean();
    for (const e of input.events) if (e.w === 'w1' && (e.t === 'shutdownRequested' || e.t === 'processExit')) e.at += 40;
    input.events.push(ev('w1', 1, 185, 'cp', { shardId: 'A', seq: '20' }));
    input.events.sort((a, b) => a.at - b.at);
    assert.deepEqual(rules(input), []);
    input.events.push(ev('w1', 1, 185.5, 'cp', { shardId: 'A', seq: '30' }));
    input.events.sort((a, b) => a.at - b.at);
    assert.deepEqual(rules(input), ['checkpointBackwards'], 'a lower value that was stored still counts');
  });

  it('detect crashes, unplanned exits and workers deaf to SIGTERM', () => {
    const input = clean();
    input.events.push(ev('w2', 2, 220, 'crash', { kind: 'unhandledRejection', message: 'boom' }));
    assert.deepEqual(rules(input), ['noCrash']);
    const killed = clean();
    killed.events[9] = ev('w1', 1, 160, 'processExit', { code: null, signal: 'SIGKILL' });
    assert.deepEqual(rules(killed), ['noCrash'], 'an unplanned kill');
    killed.faults.push({ kind: 'kill9', at: 159, until: 159, excuseUntil: 200, workers: ['w1'] });
    assert.deepEqual(rules(killed), [], 'a planned kill -9');
    killed.stuckOnStop.push('w2');
    assert.deepEqual(rules(killed), ['stopsOnSigterm']);
  });

  it('detect a leaseLost reported after the shard ended', () => {
    const input = clean();
    input.events.splice(8, 0, ev('w1', 1, 145, 'lost', { shardId: 'P' }));
    assert.deepEqual(rules(input), ['spuriousLeaseLost']);
  });

  it('detect a final table that disagrees with what was processed', () => {
    const input = clean();
    input.table[1] = { leaseKey: 'P', checkpoint: '1' };
    input.table.splice(2, 1);
    const verdict = checkSoak(input);
    assert.deepEqual(verdict.violations.map((v) => v.rule), ['finalTable', 'finalTable']);
  });
});
