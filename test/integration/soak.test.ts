import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSoak, describeResult } from '../soak/run.ts';

// The short form of `npm run soak`: the same code, a fixed seed, 45 s of faults (about 80 s of wall time).
describe('the fault soak (short form, seed 1)', () => {
  it('processes every record, in order per tenure and per key, with no zombie, stall or crash under faults', async (t) => {
    const evidenceFile = join(tmpdir(), `ts-kcl-soak-seed1-${process.pid}.json`);
    const result = await runSoak({ seed: 1, faultPhaseMs: 45000, drainMs: 20000, log: (line) => t.diagnostic(line), evidenceFile });
    for (const line of describeResult(result)) t.diagnostic(line);
    t.diagnostic(`evidence (events, puts, faults, shards, table): ${evidenceFile}`);
    assert.deepEqual(
      result.violations.map((v) => `[${v.rule}] ${v.detail}`),
      [],
      'no soak rule broken',
    );
  });
});
