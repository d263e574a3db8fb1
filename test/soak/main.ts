// npm run soak -- --seed 7 --duration 300 [--drain 90] [--evidence soak.json]
// npm run soak -- --recheck soak.json   (the checks again, on a run's evidence)
// (duration: seconds of faults; start-up, drain and stop come on top; evidence: the raw logs the checks read)
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { runSoak, describeResult } from './run.ts';
import { checkSoak, type SoakInput } from './checks.ts';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, duration: { type: 'string', default: '300' }, drain: { type: 'string', default: '90' }, evidence: { type: 'string' }, recheck: { type: 'string' } } });
if (values.recheck) {
  const input = JSON.parse(await readFile(values.recheck, 'utf8')) as SoakInput;
  const verdict = checkSoak({ latencyMaxMs: 1500, ...input });
  for (const v of verdict.violations) console.log(`[${v.rule}] ${v.detail}`);
  console.log(verdict.violations.length === 0 ? 'no rule broken' : `${verdict.violations.length} violation(s)`);
  process.exit(verdict.violations.length === 0 ? 0 : 1);
}
const seed = Number(values.seed);
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
  const result = await runSoak({ seed, faultPhaseMs, drainMs: Number(values.drain) * 1000, log: (line) => console.log(line), signal: interrupt.signal, ...(values.evidence ? { evidenceFile: values.evidence } : {}) });
  for (const line of describeResult(result)) console.log(line);
  process.exitCode = result.violations.length === 0 ? 0 : 1;
} catch (err) {
  console.error(interrupt.signal.aborted ? 'soak interrupted' : err);
  process.exitCode = interrupt.signal.aborted ? 130 : 2;
}
