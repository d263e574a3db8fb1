import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListStreamsCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, credentials, region, type TestEnv } from '../support/env.ts';

// The CLI as users run it: the built bin (npm test builds first).
const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function cli(args: string[], cwd?: string): Run {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stdout: () => out, stderr: () => err, exit: new Promise((r) => child.once('exit', (code) => r(code))) };
}

describe('the ts-kcl command', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  it('prints usage and fails on an unknown command; names the missing flag', async () => {
    const unknown = cli(['frobnicate']);
    assert.equal(await unknown.exit, 1);
    assert.match(unknown.stderr(), /Unknown command "frobnicate"/);
    const missing = cli(['run', '--stream', 's']);
    assert.equal(await missing.exit, 1);
    assert.match(missing.stderr(), /--app is required/);
  });

  it('local: starts both servers, prints endpoints and a config, stops on Ctrl-C', async () => {
    const run = cli(['local', '--kinesis', 'kinesalite']);
    await waitFor(() => run.stdout().includes('Press Ctrl-C'), 'the endpoints', 30000);
    const kinesisUrl = /Kinesis \(kinesalite\): (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout())![1]!;
    const dynamoUrl = /DynamoDB \(dynalite\): (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout())![1]!;
    assert.match(run.stdout(), /clientConfig: \{ region: 'us-east-1'/);
    const kinesis = new KinesisClient({ region, credentials, endpoint: kinesisUrl, requestHandler: new NodeHttpHandler() });
    const dynamodb = new DynamoDBClient({ region, credentials, endpoint: dynamoUrl });
    try {
      assert.deepEqual((await kinesis.send(new ListStreamsCommand({}))).StreamNames, []);
      assert.deepEqual((await dynamodb.send(new ListTablesCommand({}))).TableNames, []);
    } finally {
      kinesis.destroy();
      dynamodb.destroy();
    }
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0);
  });

  it('run + leases: a worker from a processor module, graceful on SIGTERM; the lease table as a table and as JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ts-kcl-cli-'));
    try {
      const out = join(dir, 'seen.txt');
      await writeFile(
        join(dir, 'processor.mjs'),
        `import { appendFileSync } from 'node:fs';
export default class Processor {
  initialize() {}
  async processRecords({ records, checkpointer }) {
    for (const r of records) appendFileSync(${JSON.stringify(out)}, Buffer.from(r.data).toString() + '\\n');
    await checkpointer.checkpoint();
  }
  leaseLost() {}
  async shardEnded({ checkpointer }) { await checkpointer.checkpoint(); }
  async shutdownRequested({ checkpointer }) { await checkpointer.checkpoint(); }
}
`,
      );
      const stream = uniqueName('cli');
      const app = uniqueName('app');
      await createStream(env.kinesis, stream, 2);
      await putRecords(env.kinesis, stream, makeRecords(20, 'cli'));
      const endpoints = ['--kinesis-endpoint', env.servers.kinesis.endpoint, '--dynamodb-endpoint', env.servers.dynamodb.endpoint];
      const worker = cli(['run', '--app', app, '--stream', stream, '--processor', './processor.mjs', '--initial-position', 'TRIM_HORIZON', '--log-level', 'warn', ...endpoints], dir);
      await waitFor(async () => (await readFile(out, 'utf8').catch(() => '')).split('\n').filter(Boolean).length >= 20, 'the worker to process 20 records', 60000);
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exit, 0, worker.stderr());

      const table = cli(['leases', '--app', app, '--endpoint', env.servers.dynamodb.endpoint]);
      assert.equal(await table.exit, 0, table.stderr());
      const lines = table.stdout().trim().split('\n');
      assert.match(lines[0]!, /^SHARD\s+OWNER\s+CHECKPOINT\s+COUNTER\s+PARENTS/);
      assert.ok(lines.some((l) => l.startsWith('shardId-000000000000 ')));
      assert.equal(lines.at(-1), '2 lease(s)');

      const json = cli(['leases', '--app', app, '--endpoint', env.servers.dynamodb.endpoint, '--json']);
      assert.equal(await json.exit, 0);
      const leases = JSON.parse(json.stdout()) as { shardId: string; owner: string | null; checkpoint: { sequenceNumber: string } }[];
      assert.equal(leases.length, 2);
      assert.ok(leases.every((l) => l.owner === null && /^\d+$/.test(l.checkpoint.sequenceNumber)), 'released, checkpointed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('demo: three workers, a split, and a final report that every record was processed (under a time limit)', async () => {
    const demo = cli(['demo', '--records', '1500', '--kinesis', 'kinesalite']);
    const timer = setTimeout(() => demo.child.kill('SIGKILL'), 120000);
    const code = await demo.exit;
    clearTimeout(timer);
    assert.equal(code, 0, demo.stdout() + demo.stderr());
    const lines = demo.stdout().trim().split('\n');
    assert.equal(lines.at(-1), 'OK: every produced record was processed (1500 of 1500).');
    assert.ok(lines.some((l) => /^Split shardId-\d+ in two\.$/.test(l)));
    assert.ok(lines.some((l) => l.includes('leases ') && l.includes('per worker') === false), 'a live progress view of the leases');
    const perWorker = /^Per worker: (.*)$/m.exec(demo.stdout())?.[1] ?? '';
    const counts = Object.fromEntries(perWorker.split(' ').map((kv) => kv.split('=') as [string, string]));
    assert.deepEqual(Object.keys(counts).sort(), ['worker-1', 'worker-2', 'worker-3'], `the three workers shared the shards: ${perWorker}`);
    assert.ok(Object.values(counts).every((n) => Number(n) > 0), perWorker);
  });
});
