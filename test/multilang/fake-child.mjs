// A tiny MultiLang child for the protocol tests: `node fake-child.mjs MODE LOGFILE`.
// Logs every message it receives (and every checkpoint answer) to LOGFILE as JSON lines.
import { createInterface } from 'node:readline';
import { appendFileSync } from 'node:fs';

const [mode, logFile] = process.argv.slice(2);
const log = (m) => appendFileSync(logFile, JSON.stringify(m) + '\n');
const send = (m) => process.stdout.write(`\n${JSON.stringify(m)}\n`);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => {
  const { value, done } = await lines.next();
  if (done) process.exit(0);
  return JSON.parse(value);
};
const checkpoint = async (fields) => {
  send({ action: 'checkpoint', ...fields });
  const answer = await next();
  log({ answer });
};

for (;;) {
  const m = await next();
  log(m);
  if (m.action === 'processRecords') {
    const last = m.records.at(-1);
    if (mode === 'exit-on-process') process.exit(3);
    if (mode === 'malformed') {
      process.stdout.write('{"action": "status", \n');
      continue;
    }
    if (mode === 'silent') continue;
    if (mode === 'wrong-status') {
      send({ action: 'status', responseFor: 'initialize' });
      continue;
    }
    if (mode === 'noise') {
      process.stdout.write('a print from the processor\n');
      process.stderr.write('a warning from the processor\n');
    }
    if (mode === 'checkpoints') {
      process.stdout.write(`\n{"action":"checkpoint"}\n`); // no sequence number at all (aws-kcl leaves it out when undefined)
      log({ answer: await next() });
      await checkpoint({ sequenceNumber: null, subSequenceNumber: null }); // amazon-kclpy's checkpoint()
      await checkpoint({ sequenceNumber: last.sequenceNumber }); // aws-kcl's checkpoint(seq)
      await checkpoint({ sequenceNumber: last.sequenceNumber, subSequenceNumber: 0 });
      await checkpoint({ sequenceNumber: '99999999999999999999999' }); // beyond what was delivered
    } else if (last) {
      await checkpoint({ sequenceNumber: last.sequenceNumber, subSequenceNumber: last.subSequenceNumber });
    }
  }
  if (m.action === 'shutdownRequested' || m.action === 'shardEnded') await checkpoint({ sequenceNumber: null, subSequenceNumber: null });
  if (m.action === 'leaseLost' && mode === 'checkpoints') await checkpoint({ sequenceNumber: null, subSequenceNumber: null });
  send({ action: 'status', responseFor: m.action });
}
