// npm run soak -- --seed 7 --duration 300 [--drain 90] [--evidence soak.json] [--client-version 3.x]   (evidence is kept anyway when a rule breaks)
// npm run soak -- --recheck soak.json   (the checks again, on a run's evidence)
// (duration: seconds of faults; start-up, drain and stop come on top; evidence: the raw logs the checks read)
import { parseArgs } from 'node:util';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSoak, describeResult } from './run.ts';
import { checkSoak, type SoakInput } from './checks.ts';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, duration: { type: 'string', default: '300' }, drain: { type: 'string', default: '90' }, evidence: { type: 'string' }, recheck: { type: 'string' }, 'client-version': { type: 'string', default: 'compatible-with-2.x' } } });
if (values.recheck) {
  const input = JSON.parse(await readFile(values.recheck, 'utf8')) as SoakInput;
  const verdict = checkSoak({ latencyMaxMs: 1500, ...input });
  for (const v of verdict.violations) console.log(`[${v.rule}] ${v.detail}`);
  console.log(verdict.violations.length === 0 ? 'no rule broken' : `${verdict.violations.length} violation(s)`);
  process.exit(verdict.violations.length === 0 ? 0 : 1);
}
const seed = Number(values.seed);
const clientVersion = values['client-version'];
if (clientVersion !== '3.x' && clientVersion !== 'compatible-with-2.x') throw new Error(`--client-version is ${clientVersion}: pass 3.x or compatible-with-2.x`);
const faultPhaseMs = Number(values.duration) * 1000;
// Ctrl-C: the run stops its workers, proxies and servers, then exits; a second Ctrl-C exits at once
// (the workers still die in the run's 'exit' hook).
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130);
  console.error('interrupted: stopping every child (Ctrl-C again to exit now)');
  interrupt.abort();
});
try {
  // Evidence is always written: a rule broken by a rare interleaving cannot be diagnosed from the summary,
  // and the same seed need not break it again. Without --evidence it is kept only when a rule broke.
  const evidenceFile = values.evidence ?? join(tmpdir(), `ts-kcl-soak-seed${seed}-${process.pid}.json`);
  const result = await runSoak({ seed, faultPhaseMs, clientVersion, drainMs: Number(values.drain) * 1000, log: (line) => console.log(line), signal: interrupt.signal, evidenceFile });
  for (const line of describeResult(result)) console.log(line);
  if (result.violations.length > 0) console.log(`evidence: ${evidenceFile} (npm run soak -- --recheck ${evidenceFile})`);
  else if (!values.evidence) await rm(evidenceFile, { force: true });
  process.exitCode = result.violations.length === 0 ? 0 : 1;
} catch (err) {
  console.error(interrupt.signal.aborted ? 'soak interrupted' : err);
  process.exitCode = interrupt.signal.aborted ? 130 : 2;
}
