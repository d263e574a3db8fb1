import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiLangShardRecordProcessor, ChildProtocolError } from '../../src/multilang/multilang-processor.ts';
import { ChildProcessGone } from '../../src/multilang/child-process.ts';
import { IllegalArgumentError } from '../../src/errors.ts';
import type { RecordProcessorCheckpointer } from '../../src/checkpoint/checkpointer.ts';
import type { KinesisClientRecord } from '../../src/retrieval/kinesis-client-record.ts';
import type { Logger } from '../../src/common/logger.ts';
import { waitFor } from '../support/env.ts';

const FAKE_CHILD = join(import.meta.dirname, 'fake-child.mjs');
const SHARD = 'shardId-000000000007';

interface Logged {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

function harness(mode: string, options: { childTimeoutMs?: number; slowWarningMs?: number; command?: string[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ml-protocol-'));
  const logFile = join(dir, 'child.log');
  const logs: Logged[] = [];
  const record = (level: string) => (a: object | string, b?: string) => logs.push(typeof a === 'string' ? { level, fields: {}, msg: a } : { level, fields: a as Record<string, unknown>, msg: b ?? '' });
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const released: string[] = [];
  const checkpoints: unknown[][] = [];
  const checkpointer = {
    checkpoint: (...args: unknown[]) => {
      checkpoints.push(args);
      if (args[0] === '99999999999999999999999') return Promise.reject(new IllegalArgumentError('beyond the last record delivered'));
      return Promise.resolve();
    },
  } as unknown as RecordProcessorCheckpointer;
  const processor = new MultiLangShardRecordProcessor({
    shardId: SHARD,
    command: options.command ?? [process.execPath, FAKE_CHILD, mode, logFile],
    cwd: dir,
    env: process.env,
    childTimeoutMs: options.childTimeoutMs,
    slowWarningMs: options.slowWarningMs ?? 60000,
    closeGraceMs: 5000,
    logger,
    releaseLease: (id) => released.push(id),
  });
  const received = (): Record<string, unknown>[] =>
    existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return { processor, logs, released, checkpoints, checkpointer, received };
}

const records: KinesisClientRecord[] = [
  { data: Buffer.from('hello'), partitionKey: 'pk-1', sequenceNumber: '49590338271490256608559692538361571095921575989136588801', subSequenceNumber: 0, aggregated: false, approximateArrivalTimestamp: new Date(1764633600123) },
  { data: new Uint8Array([0, 255, 1]), partitionKey: 'pk-2', sequenceNumber: '49590338271490256608559692538361571095921575989136588802', subSequenceNumber: 3, aggregated: true, approximateArrivalTimestamp: new Date(1764633600456) },
];
const start = { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 };
const initInput = { shardId: SHARD, streamName: 's', extendedSequenceNumber: start };

test('the messages Java writes: initialize, processRecords (base64 data, epoch-ms arrival), shutdownRequested, leaseLost; the child exits after leaseLost', async () => {
  const h = harness('good');
  await h.processor.initialize(initInput);
  await h.processor.processRecords({ records, checkpointer: h.checkpointer, millisBehindLatest: 42, isAtShardEnd: false });
  await h.processor.shutdownRequested({ checkpointer: h.checkpointer });
  await h.processor.leaseLost();
  const got = h.received();
  assert.deepEqual(got[0], { action: 'initialize', shardId: SHARD, sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 });
  assert.deepEqual(got[1], {
    action: 'processRecords',
    millisBehindLatest: 42,
    records: [
      { action: 'record', data: 'aGVsbG8=', partitionKey: 'pk-1', sequenceNumber: records[0]!.sequenceNumber, subSequenceNumber: 0, approximateArrivalTimestamp: 1764633600123 },
      { action: 'record', data: 'AP8B', partitionKey: 'pk-2', sequenceNumber: records[1]!.sequenceNumber, subSequenceNumber: 3, approximateArrivalTimestamp: 1764633600456 },
    ],
  });
  assert.deepEqual(got[2], { answer: { action: 'checkpoint', sequenceNumber: records[1]!.sequenceNumber, subSequenceNumber: 3, error: null } });
  assert.deepEqual(got.slice(3), [{ action: 'shutdownRequested' }, { answer: { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null } }, { action: 'leaseLost' }]);
  assert.deepEqual(h.checkpoints, [[records[1]!.sequenceNumber, 3], []]);
  assert.deepEqual(h.released, []);
});

test('checkpoint requests with and without sequence and sub-sequence numbers; failures answered with the Java exception name', async () => {
  const h = harness('checkpoints');
  await h.processor.initialize(initInput);
  await h.processor.processRecords({ records, checkpointer: h.checkpointer, millisBehindLatest: 0, isAtShardEnd: false });
  await h.processor.leaseLost();
  const seq = records[1]!.sequenceNumber;
  assert.deepEqual(h.checkpoints, [[], [], [seq], [seq, 0], ['99999999999999999999999']]);
  const answers = h.received().filter((m) => 'answer' in m).map((m) => m.answer);
  assert.deepEqual(answers, [
    { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null },
    { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: null },
    { action: 'checkpoint', sequenceNumber: seq, subSequenceNumber: null, error: null },
    { action: 'checkpoint', sequenceNumber: seq, subSequenceNumber: 0, error: null },
    { action: 'checkpoint', sequenceNumber: '99999999999999999999999', subSequenceNumber: null, error: 'IllegalArgumentException' },
    // leaseLost has no checkpointer: Java answers InvalidStateException
    { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: 'InvalidStateException' },
  ]);
});

test('shardEnded: the child checkpoints, then its stdin is closed and it exits', async () => {
  const h = harness('good');
  await h.processor.initialize(initInput);
  await h.processor.shardEnded({ checkpointer: h.checkpointer });
  assert.deepEqual(h.checkpoints, [[]]);
  await h.processor.leaseLost(); // a no-op once the child is closed
  assert.deepEqual(h.received().map((m) => m.action ?? 'answer'), ['initialize', 'shardEnded', 'answer']);
});

async function assertFailure(mode: string, expected: RegExp, errorClass: new (...args: never[]) => Error, options: { childTimeoutMs?: number } = {}): Promise<void> {
  const h = harness(mode, options);
  await h.processor.initialize(initInput);
  await assert.rejects(h.processor.processRecords({ records, checkpointer: h.checkpointer, millisBehindLatest: 0, isAtShardEnd: false }), (err: Error) => {
    assert.ok(err instanceof errorClass, `${err.name}: ${err.message}`);
    assert.match(err.message, expected);
    return true;
  });
  assert.deepEqual(h.released, [SHARD], 'the lease is released so the shard restarts from its checkpoint');
  const error = h.logs.find((l) => l.level === 'error');
  assert.match(error?.msg ?? '', /killing it and releasing the lease/);
  await h.processor.leaseLost(); // the consumer's leaseLost after a failure does nothing
}

test('a child that exits mid-batch: the call fails and the lease is released', () => assertFailure('exit-on-process', /exited with code 3/, ChildProcessGone));
test('a child that writes malformed JSON: killed, lease released', () => assertFailure('malformed', /malformed JSON/, ChildProtocolError));
test('a child that answers the wrong action: killed, lease released', () => assertFailure('wrong-status', /answered initialize while processRecords was awaited/, ChildProtocolError));
test('a child that never answers within timeoutInSeconds: killed, lease released', () =>
  assertFailure('silent', /did not answer processRecords within 2 s/, ChildProtocolError, { childTimeoutMs: 2000 }));

test('without timeoutInSeconds a silent child is waited for with a WARN, and its death still ends the wait', async () => {
  const h = harness('silent', { slowWarningMs: 100 });
  await h.processor.initialize(initInput);
  const call = h.processor.processRecords({ records, checkpointer: h.checkpointer, millisBehindLatest: 0, isAtShardEnd: false });
  call.catch(() => undefined);
  await waitFor(() => h.logs.some((l) => l.level === 'warn' && /has not answered yet/.test(l.msg)), 'the slow-child WARN', 5000);
  const pid = h.logs.find((l) => l.msg === 'Started record processor child')?.fields.pid as number;
  process.kill(pid, 'SIGKILL');
  await assert.rejects(call, /exited on SIGKILL/);
  assert.deepEqual(h.released, [SHARD]);
});

test('stray stdout text is skipped (as Java) and stderr lines reach the log', async () => {
  const h = harness('noise');
  await h.processor.initialize(initInput);
  await h.processor.processRecords({ records, checkpointer: h.checkpointer, millisBehindLatest: 0, isAtShardEnd: false });
  await h.processor.leaseLost();
  assert.ok(h.logs.some((l) => l.level === 'warn' && l.fields.stdout === 'a print from the processor'));
  assert.ok(h.logs.some((l) => l.level === 'warn' && l.fields.stderr === 'a warning from the processor'));
  assert.deepEqual(h.released, []);
});

test('an executable that cannot start fails initialize and releases the lease', async () => {
  const h = harness('good', { command: ['/nonexistent/processor', 'x'] });
  await assert.rejects(h.processor.initialize(initInput), /could not start \/nonexistent\/processor/);
  assert.deepEqual(h.released, [SHARD]);
});
