import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, credentials, type TestEnv, type PutResult } from '../support/env.ts';
import { kclpy } from './toolchains.ts';
import { tempDir, writeProperties, leaseRows } from './harness.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const toolchain = kclpy();

const lastPerShard = (puts: PutResult[]): Map<string, string> => new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));

describe('amazon-kclpy (PyPI) sample processor, unchanged, under `ts-kcl multilang`', { skip: toolchain.ok ? false : toolchain.reason, timeout: 120000 }, () => {
  let env: TestEnv;
  before(async () => (env = await startEnv()));
  after(async () => env?.close());

  it('processes every record, checkpoints where the sample puts them, and on SIGTERM runs shutdownRequested in every child', async () => {
    if (!toolchain.ok) return;
    const { python, pythonPath, sampleApp } = toolchain.value;
    const app = uniqueName('ml-py');
    const stream = uniqueName('ml-py');
    await createStream(env.kinesis, stream, 2);
    const first = await putRecords(env.kinesis, stream, makeRecords(100, 'a'));
    const dir = tempDir('ml-kclpy-');
    const properties = writeProperties(dir, env, { executableName: `${python} ${sampleApp}`, applicationName: app, streamName: stream, processingLanguage: 'python/3' });
    // As users run the daemon: the command line, its environment passed on to the children.
    const daemon = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, 'multilang', '--properties', properties], {
      cwd: dir,
      // PYTHONUNBUFFERED: the sample's stderr log reaches the daemon as it writes it, so the test can see deliveries.
      env: { ...process.env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1', AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    daemon.stdout.on('data', (d: Buffer) => (log += d.toString()));
    daemon.stderr.on('data', (d: Buffer) => (log += d.toString()));
    // The sample logs each record to stderr without newlines; the daemon forwards it in pieces with the
    // shard id: joined per shard, the pieces give the child's stderr back.
    const childStderr = (): string => {
      const perShard = new Map<string, string>();
      for (const line of log.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { shardId?: string; stderr?: string };
        if (entry.stderr !== undefined && entry.shardId) perShard.set(entry.shardId, (perShard.get(entry.shardId) ?? '') + entry.stderr);
      }
      return [...perShard.values()].join('\n');
    };
    const exit = new Promise<number | null>((resolve) => daemon.once('exit', resolve));
    try {
      // The sample checkpoints its largest sequence number on its first batch, then every 30 s.
      for (const [shardId, seq] of lastPerShard(first)) {
        await waitFor(async () => (await leaseRows(env.dynamodb, app)).get(shardId)?.checkpoint === seq, `the sample's checkpoint on ${shardId}`, 60000);
      }
      const second = await putRecords(env.kinesis, stream, makeRecords(60, 'b'));
      // Delivered but not checkpointed yet (the sample waits 30 s): SIGTERM's shutdownRequested checkpoints them.
      await waitFor(() => second.every((p) => childStderr().includes(p.sequenceNumber)), 'the new records reach the sample', 30000);
      daemon.kill('SIGTERM');
      assert.equal(await exit, 0, log.slice(-3000));
      const rows = await leaseRows(env.dynamodb, app);
      for (const [shardId, seq] of lastPerShard(second)) assert.equal(rows.get(shardId)?.checkpoint, seq, `${shardId} checkpointed by shutdown_requested`);
      assert.ok([...rows.values()].every((r) => r.leaseOwner === undefined), 'leases released');
      // The sample logs each record to stderr (no newlines); the daemon forwards it with the shard id.
      const seen = new Set([...childStderr().matchAll(/Sequence Number: (\d+)/g)].map((m) => m[1]));
      for (const p of [...first, ...second]) assert.ok(seen.has(p.sequenceNumber), `record ${p.sequenceNumber} processed`);
      assert.match(childStderr(), /Shutdown has been requested, checkpointing\./);
    } finally {
      if (process.env.MULTILANG_TEST_LOG) process.stderr.write(log);
      daemon.kill('SIGKILL');
    }
  });
});
