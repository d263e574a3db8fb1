import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { MultiLangDaemon } from '../../src/multilang/daemon.ts';
import { readMultiLangProperties } from '../../src/multilang/daemon-config.ts';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, credentials, region, type TestEnv, type PutResult } from '../support/env.ts';
import { awsKcl, javaDaemon } from './toolchains.ts';
import { tempDir, writeProperties, leaseRows, readEvents, captureLogger } from './harness.ts';

process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;

const PROCESSOR = join(import.meta.dirname, 'aws-kcl-processor.cjs');
const node = awsKcl();
const java = node.ok ? javaDaemon() : node;

interface Event {
  pid: number;
  event: string;
  shardId: string;
  sequenceNumber?: string;
  data?: string;
}

const lastPerShard = (puts: PutResult[]): Map<string, string> => new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));

describe('migration from the Java MultiLangDaemon to ts-kcl multilang', { skip: java.ok ? false : java.reason, timeout: 150000 }, () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesis-local'))); // its plain port speaks h2c, which the Java daemon's Kinesis client insists on
  after(async () => env?.close());

  it('the Java daemon processes half the records and stops; ts-kcl multilang on the same properties loses none and redelivers at most one batch per shard', async () => {
    if (!java.ok || !node.ok) return;
    const app = uniqueName('ml-migrate');
    const stream = uniqueName('ml-migrate');
    await createStream(env.kinesis, stream, 2);
    const dir = tempDir('ml-migrate-');
    const eventsFile = join(dir, 'events.jsonl');
    const properties = writeProperties(dir, env, { executableName: `${process.execPath} ${PROCESSOR}`, applicationName: app, streamName: stream });
    const childEnv = { ...process.env, AWS_REGION: region, NODE_PATH: join(node.value, 'node_modules'), EVENTS_FILE: eventsFile };
    const events = (): Event[] => readEvents<Event>(eventsFile);
    const processed = (): Set<string> => new Set(events().filter((e) => e.event === 'record').map((e) => e.data!));

    const first = await putRecords(env.kinesis, stream, makeRecords(200, 'j'));
    const daemon = spawn('java', ['-cp', `${java.value}/*`, 'software.amazon.kinesis.multilang.MultiLangDaemon', '--properties-file', properties], {
      cwd: dir,
      env: { ...childEnv, JAVA_TOOL_OPTIONS: '-Daws.cborEnabled=false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let javaLog = '';
    daemon.stdout.on('data', (d: Buffer) => (javaLog += d.toString()));
    daemon.stderr.on('data', (d: Buffer) => (javaLog += d.toString()));
    const javaExit = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
    try {
      await waitFor(() => first.every((p) => processed().has(p.data)), 'the Java daemon processes the first half', 90000).catch((err: Error) => {
        throw new Error(`${err.message}\n${javaLog.slice(-4000)}`);
      });
      for (const [shardId, seq] of lastPerShard(first)) {
        await waitFor(async () => (await leaseRows(env.dynamodb, app)).get(shardId)?.checkpoint === seq, `the Java daemon's checkpoint on ${shardId}`);
      }
      daemon.kill('SIGTERM');
      await Promise.race([javaExit, new Promise((r) => setTimeout(r, 20000).unref())]);
    } finally {
      daemon.kill('SIGKILL');
    }
    const javaEvents = events().length;
    const second = await putRecords(env.kinesis, stream, makeRecords(200, 't'));

    const tsKcl = new MultiLangDaemon(readMultiLangProperties(properties), { logger: captureLogger(), cwd: dir, env: childEnv });
    const running = tsKcl.run();
    try {
      // The Java daemon never releases its leases: ts-kcl takes them when they expire (failoverTimeMillis).
      await waitFor(() => second.every((p) => processed().has(p.data)), 'ts-kcl multilang processes the second half', 60000);
    } finally {
      await tsKcl.startGracefulShutdown();
      await running;
    }
    const all = events();
    const records = all.filter((e) => e.event === 'record');
    for (const p of [...first, ...second]) assert.ok(processed().has(p.data), `record ${p.data} processed`);
    // Redelivered: records processed twice; at most one batch per shard, and the new children start at the Java checkpoints.
    const byData = new Map<string, number>();
    for (const r of records) byData.set(r.data!, (byData.get(r.data!) ?? 0) + 1);
    const twice = [...byData.entries()].filter(([, n]) => n > 1).map(([data]) => data);
    const batchesAfter = new Map<string, number>();
    for (const e of all.slice(javaEvents)) if (e.event === 'checkpoint') batchesAfter.set(e.shardId, (batchesAfter.get(e.shardId) ?? 0) + 1);
    const firstBatchSize = Math.max(...[...lastPerShard(first).keys()].map((s) => first.filter((p) => p.shardId === s).length));
    assert.ok(twice.length <= firstBatchSize * 2, `redelivered ${twice.length} records`);
    const tsInits = all.slice(javaEvents).filter((e) => e.event === 'initialize');
    for (const [shardId, seq] of lastPerShard(first)) {
      assert.equal(tsInits.find((e) => e.shardId === shardId)?.sequenceNumber, seq, `ts-kcl's child for ${shardId} starts at the Java checkpoint`);
    }
    const rows = await leaseRows(env.dynamodb, app);
    for (const [shardId, seq] of lastPerShard(second)) assert.equal(rows.get(shardId)?.checkpoint, seq);
  });
});
