import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, writeFile, rm, symlink, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListStreamsCommand, KinesisClient, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, credentials, region, type TestEnv } from '../support/env.ts';
import { LOCAL } from '../../src/cli/local.ts';
import { RUN } from '../../src/cli/run.ts';
import { LEASES } from '../../src/cli/leases.ts';
import { CREATE_STREAM } from '../../src/cli/create-stream.ts';
import { PUT } from '../../src/cli/put.ts';
import { DEMO } from '../../src/cli/demo.ts';

// The CLI as users run it: the built bin (npm test builds first).
const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; bin?: string; detached?: boolean } = {}): Run {
  const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.detached ? { detached: true } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { ...process.env, ...options.env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stdout: () => out, stderr: () => err, exit: new Promise((r) => child.once('exit', (code) => r(code))) };
}

/** KEY=value lines of an env file, as `set -a; . file` would export them. */
async function readEnvFile(path: string): Promise<Record<string, string>> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => /^[A-Z_]+=/.test(l));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

const childPids = (pid: number): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map(Number).filter((n) => n > 0);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const PROCESSOR = (out: string): string => `import { appendFileSync } from 'node:fs';
export default class Processor {
  initialize() {}
  async processRecords({ records, checkpointer }) {
    for (const r of records) appendFileSync(${JSON.stringify(out)}, Buffer.from(r.data).toString() + '\\n');
    if (records.length > 0) await checkpointer.checkpoint();
  }
  leaseLost() {}
  async shardEnded({ checkpointer }) { await checkpointer.checkpoint(); }
  async shutdownRequested({ checkpointer }) { await checkpointer.checkpoint(); }
}
`;

const lineCount = async (file: string): Promise<number> => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

describe('the ts-kcl command', () => {
  let env: TestEnv;
  let dir: string;
  before(async () => {
    env = await startEnv('kinesalite');
    dir = await mkdtemp(join(tmpdir(), 'ts-kcl-cli-'));
  });
  after(async () => {
    await env?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const endpoints = (): string[] => ['--kinesis-endpoint', env.servers.kinesis.endpoint, '--dynamodb-endpoint', env.servers.dynamodb.endpoint];

  it('prints usage and fails on an unknown command or flag; names the missing flag', async () => {
    const unknown = cli(['frobnicate']);
    assert.equal(await unknown.exit, 1);
    assert.match(unknown.stderr(), /Unknown command "frobnicate"/);
    const missing = cli(['run', '--stream', 's']);
    assert.equal(await missing.exit, 1);
    assert.match(missing.stderr(), /^ts-kcl run: --app is required: application name/);
    assert.match(missing.stderr(), /Run "ts-kcl run --help" for its flags/);
    const badFlag = cli(['leases', '--app', 'x', '--frob']);
    assert.equal(await badFlag.exit, 1);
    assert.match(badFlag.stderr(), /Unknown option '--frob'/);
  });

  it('--help on every command: exit 0, and every flag the command accepts is in its usage text', async () => {
    const top = cli(['--help']);
    assert.equal(await top.exit, 0);
    for (const spec of [LOCAL, RUN, LEASES, CREATE_STREAM, PUT, DEMO]) {
      assert.match(top.stdout(), new RegExp(`^  ${spec.name} `, 'm'), `${spec.name} in the command list`);
      const help = cli([spec.name, '--help']);
      assert.equal(await help.exit, 0, help.stderr());
      for (const [flag, f] of Object.entries(spec.flags)) {
        assert.match(help.stdout(), new RegExp(`^  --${flag}\\b`, 'm'), `ts-kcl ${spec.name} --help lists --${flag}`);
        for (const old of f.deprecated ?? []) assert.match(help.stdout(), new RegExp(`was --${old}\\b`));
      }
    }
    for (const spec of [RUN, LEASES, CREATE_STREAM, PUT]) {
      for (const flag of ['kinesis-endpoint', 'dynamodb-endpoint', 'region']) assert.ok(flag in spec.flags, `${spec.name} spells --${flag} like every command`);
    }
  });

  it('durations: a bad one names the flag and the accepted forms (never "is null")', async () => {
    const bad = cli(['run', '--app', 'app1', '--stream', 's', '--processor', 'p.mjs', '--failover-time-ms', 'ten']);
    assert.equal(await bad.exit, 1);
    assert.equal(bad.stderr().split('\n')[0], 'ts-kcl run: --failover-time-ms must be a duration such as 10s, 500ms, 2m or plain milliseconds (10000), not "ten"');
  });

  it('create-stream and put: a stream and test records with no code, against endpoint flags', async () => {
    const stream = uniqueName('made');
    const created = cli(['create-stream', '--stream', stream, '--shards', '3', ...endpoints()]);
    assert.equal(await created.exit, 0, created.stderr());
    assert.equal(created.stdout(), `Created ${stream} (3 open shards, ACTIVE)\n`);
    const again = cli(['create-stream', '--stream', stream, '--shards', '3', ...endpoints()]);
    assert.equal(await again.exit, 0, again.stderr());
    assert.match(again.stdout(), /already exists/);
    const put = cli(['put', '--stream', stream, '--count', '700', '--data', '{"n":{i}}', ...endpoints()]);
    assert.equal(await put.exit, 0, put.stderr());
    assert.match(put.stdout(), new RegExp(`^Put 700 records to ${stream} \\(shardId-000000000000: \\d+, shardId-000000000001: \\d+, shardId-000000000002: \\d+\\)\\n$`));
    const missing = cli(['put', '--stream', uniqueName('nope'), ...endpoints()]);
    assert.equal(await missing.exit, 1);
    assert.match(missing.stderr(), /^ts-kcl put: .*not found.*\(create it, or check the name and clientConfig\.region\)\n$/);
  });

  it('run + leases: a worker from a processor module, graceful on SIGTERM; the lease table as a table and as JSON; --endpoint still works', async () => {
    const out = join(dir, 'seen.txt');
    await writeFile(join(dir, 'processor.mjs'), PROCESSOR(out));
    const stream = uniqueName('cli');
    const app = uniqueName('app');
    await createStream(env.kinesis, stream, 2);
    await putRecords(env.kinesis, stream, makeRecords(20, 'cli'));
    const worker = cli(['run', '--app', app, '--stream', stream, '--processor', './processor.mjs', '--initial-position', 'TRIM_HORIZON', '--failover-time-ms', '10s', '--log-level', 'warn', ...endpoints()], { cwd: dir });
    await waitFor(async () => (await lineCount(out)) >= 20, 'the worker to process 20 records', 60000);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0, worker.stderr());

    const table = cli(['leases', '--app', app, '--endpoint', env.servers.dynamodb.endpoint]);
    assert.equal(await table.exit, 0, table.stderr());
    assert.equal(table.stderr(), 'ts-kcl leases: --endpoint is deprecated; use --dynamodb-endpoint\n');
    const lines = table.stdout().trim().split('\n');
    assert.match(lines[0]!, /^SHARD\s+OWNER\s+CHECKPOINT\s+COUNTER\s+PARENTS/);
    assert.ok(lines.some((l) => l.startsWith('shardId-000000000000 ')));
    assert.equal(lines.at(-1), '2 lease(s)');

    const json = cli(['leases', '--app', app, '--dynamodb-endpoint', env.servers.dynamodb.endpoint, '--json']);
    assert.equal(await json.exit, 0);
    const leases = JSON.parse(json.stdout()) as { shardId: string; owner: string | null; checkpoint: { sequenceNumber: string } }[];
    assert.equal(leases.length, 2);
    assert.ok(leases.every((l) => l.owner === null && /^\d+$/.test(l.checkpoint.sequenceNumber)), 'released, checkpointed');
  });

  it('run: a missing stream fails at once with one line naming it', async () => {
    await writeFile(join(dir, 'ok.mjs'), PROCESSOR(join(dir, 'unused.txt')));
    const stream = uniqueName('absent');
    const t0 = performance.now();
    const run = cli(['run', '--app', uniqueName('app'), '--stream', stream, '--processor', './ok.mjs', '--log-level', 'error', ...endpoints()], { cwd: dir });
    assert.equal(await run.exit, 1);
    assert.ok(performance.now() - t0 < 10000);
    assert.equal(run.stderr().trim().split('\n').at(-1), `ts-kcl run: Kinesis stream ${stream} does not exist (create it, or check the name and clientConfig.region)`);
    assert.doesNotMatch(run.stderr(), /^\s+at /m, 'no stack trace');
  });

  describe('processor modules are checked before the worker starts', () => {
    const bad = async (file: string, source: string): Promise<string> => {
      await writeFile(join(dir, file), source);
      const run = cli(['run', '--app', uniqueName('app'), '--stream', 'unused', '--processor', `./${file}`, ...endpoints()], { cwd: dir });
      assert.equal(await run.exit, 1);
      return run.stderr();
    };

    it('a syntax error prints the file and line', async () => {
      assert.match(await bad('broken.mjs', 'export default class P {\n  initialize() {}\n  processRecords( {\n}\n'), /^ts-kcl run: \.\/broken\.mjs:\d+: SyntaxError: /);
    });

    it('missing methods, a factory returning a class, no default export: one line each', async () => {
      assert.equal(
        await bad('partial.mjs', 'export default () => ({ initialize() {}, leaseLost() {} });'),
        'ts-kcl run: ./partial.mjs: the processor lacks processRecords, shardEnded, shutdownRequested (a processor has initialize, processRecords, leaseLost, shardEnded, shutdownRequested)\n',
      );
      assert.match(await bad('returns-class.mjs', 'class P {}\nexport default () => P;'), /^ts-kcl run: \.\/returns-class\.mjs: the default export factory must return a processor object synchronously, not function\n$/);
      assert.match(await bad('named.mjs', 'export class Processor {}'), /^ts-kcl run: \.\/named\.mjs must have a default export: .*\(it has none; it exports Processor\)\n$/);
    });

    it('a TypeScript processor loads (through the app\'s tsx where Node cannot strip types), or the error says how to run it', async () => {
      const ts = 'import type { ShardRecordProcessor } from "ts-kcl";\nexport default class P implements Partial<ShardRecordProcessor> {\n  initialize(): void {}\n  processRecords(): void {}\n  leaseLost(): void {}\n  shardEnded(): void {}\n  shutdownRequested(): void {}\n}\n';
      const stream = uniqueName('absent');
      // An app with tsx installed: the module loads; start-up then stops at the missing stream, past the module.
      const app = join(dir, 'ts-app');
      await mkdir(app, { recursive: true });
      await symlink(NODE_MODULES, join(app, 'node_modules'));
      await writeFile(join(app, 'processor.ts'), ts);
      const withTsx = cli(['run', '--app', uniqueName('app'), '--stream', stream, '--processor', './processor.ts', ...endpoints()], { cwd: app });
      assert.equal(await withTsx.exit, 1);
      assert.match(withTsx.stderr(), new RegExp(`ts-kcl run: Kinesis stream ${stream} does not exist`));
      const strips = (process.features as { typescript?: unknown }).typescript;
      if (strips !== undefined && strips !== false) return; // this Node loads .ts itself
      // No tsx and a Node that cannot strip types: one line saying how to run it.
      const bare = join(dir, 'bare-app');
      await mkdir(bare, { recursive: true });
      await writeFile(join(bare, 'processor.ts'), ts);
      const without = cli(['run', '--app', uniqueName('app'), '--stream', stream, '--processor', './processor.ts', ...endpoints()], { cwd: bare });
      assert.equal(await without.exit, 1);
      assert.match(without.stderr(), /^ts-kcl run: \.\/processor\.ts is TypeScript, which Node v[\d.]+ cannot load by itself\. Run it with Node >= 22\.18 .*npm i -D tsx/);
    });
  });

  it('local (kinesalite): both servers, an env file with their endpoints, stops on Ctrl-C', async () => {
    const cwd = join(dir, 'local-kinesalite');
    await mkdir(cwd, { recursive: true });
    const run = cli(['local', '--kinesis', 'kinesalite', '--kinesis-port', '0', '--dynamodb-port', '0'], { cwd });
    await waitFor(() => run.stdout().includes('Press Ctrl-C'), 'the endpoints', 30000);
    const vars = await readEnvFile(join(cwd, '.ts-kcl-local.env'));
    assert.match(run.stdout(), new RegExp(`^Kinesis \\(kinesalite\\): ${vars.AWS_ENDPOINT_URL_KINESIS}$`, 'm'));
    assert.match(run.stdout(), new RegExp(`^DynamoDB \\(dynalite\\): ${vars.AWS_ENDPOINT_URL_DYNAMODB}$`, 'm'));
    assert.match(run.stdout(), /^ {2}export AWS_ENDPOINT_URL_KINESIS=http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(run.stdout(), /clientConfig: \{ region: 'us-east-1'/);
    const kinesis = new KinesisClient({ region, credentials, endpoint: vars.AWS_ENDPOINT_URL_KINESIS!, requestHandler: new NodeHttpHandler() });
    const dynamodb = new DynamoDBClient({ region, credentials, endpoint: vars.AWS_ENDPOINT_URL_DYNAMODB! });
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

  it('demo --streams 2: one application over two streams (multi-stream mode), every record processed', async () => {
    const demo = cli(['demo', '--streams', '2', '--workers', '2', '--records', '600', '--kinesis', 'kinesalite']);
    const timer = setTimeout(() => demo.child.kill('SIGKILL'), 120000);
    const code = await demo.exit;
    clearTimeout(timer);
    assert.equal(code, 0, demo.stdout() + demo.stderr());
    assert.match(demo.stdout(), /Streams demo-stream-1, demo-stream-2 with 4 shards each, one application over all of them \(multi-stream mode\)/);
    assert.equal(demo.stdout().trim().split('\n').at(-1), 'OK: every produced record was processed (600 of 600).');
    assert.match(demo.stdout(), /^\d+:demo-stream-2:\d+:shardId-\d+ /m, 'the lease table holds Java multi-stream keys');
  });

  it('local: without the server packages, one install hint naming both, exit 1 at once', async () => {
    // An app whose node_modules has everything but the local servers, with ts-kcl installed in it.
    const app = join(dir, 'no-servers');
    const modules = join(app, 'node_modules');
    await mkdir(join(modules, 'ts-kcl'), { recursive: true });
    for (const name of await readdir(NODE_MODULES)) {
      if (!['kinesis-local', 'kinesalite', 'dynalite', '.bin'].includes(name)) await symlink(join(NODE_MODULES, name), join(modules, name));
    }
    await cp(fileURLToPath(new URL('../../dist', import.meta.url)), join(modules, 'ts-kcl', 'dist'), { recursive: true });
    await writeFile(join(modules, 'ts-kcl', 'package.json'), JSON.stringify({ name: 'ts-kcl', type: 'module' }));
    const run = cli(['local'], { cwd: app, bin: join(modules, 'ts-kcl', 'dist', 'cli', 'main.js') });
    const timer = setTimeout(() => run.child.kill('SIGKILL'), 20000);
    assert.equal(await run.exit, 1, 'exits, never hangs');
    clearTimeout(timer);
    assert.equal(run.stderr(), 'ts-kcl local: The local servers need the npm packages kinesis-local and dynalite: run `npm install --save-dev kinesis-local dynalite`\n');
  });
});

describe('ts-kcl local with kinesis-local', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'ts-kcl-local-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('fan-out works with the env file as written; kinesis-local dies with a SIGKILLed parent', async () => {
    const local = cli(['local', '--kinesis-port', '0', '--dynamodb-port', '0', '--kinesis-plain-port', '0'], { cwd: dir });
    try {
      await waitFor(() => local.stdout().includes('Press Ctrl-C'), 'the endpoints', 60000);
    } catch (err) {
      local.child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${local.stdout()}\n${local.stderr()}`);
    }
    const [server] = childPids(local.child.pid!);
    assert.ok(server !== undefined && alive(server), 'kinesis-local runs as a child');
    try {
      const vars = await readEnvFile(join(dir, '.ts-kcl-local.env'));
      assert.match(vars.AWS_ENDPOINT_URL_KINESIS!, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(vars.NODE_EXTRA_CA_CERTS, 'the certificate to trust');
      // Every command with the env file loaded and no endpoint flag at all, as a user runs them.
      const withEnv = { cwd: dir, env: vars };
      const stream = uniqueName('fan');
      assert.equal(await cli(['create-stream', '--stream', stream, '--shards', '2'], withEnv).exit, 0);
      assert.equal(await cli(['put', '--stream', stream, '--count', '10'], withEnv).exit, 0);
      const out = join(dir, 'seen.txt');
      await writeFile(join(dir, 'processor.mjs'), PROCESSOR(out));
      const worker = cli(['run', '--app', uniqueName('app'), '--stream', stream, '--processor', './processor.mjs', '--initial-position', 'TRIM_HORIZON', '--retrieval', 'fanout', '--log-level', 'warn'], withEnv);
      try {
        await waitFor(async () => (await lineCount(out)) >= 10, 'fan-out to deliver 10 records', 60000);
        assert.doesNotMatch(worker.stderr(), /certificate/i);
      } finally {
        worker.child.kill('SIGTERM');
        await worker.exit;
      }
      const plain = /plain HTTP: (http:\/\/127\.0\.0\.1:\d+)/.exec(local.stdout())![1]!;
      const kinesis = new KinesisClient({ region, credentials, endpoint: plain, requestHandler: new NodeHttpHandler() });
      try {
        assert.equal((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.ConsumerCount, 1, 'a fan-out consumer was registered');
      } finally {
        kinesis.destroy();
      }
    } finally {
      local.child.kill('SIGKILL');
      await local.exit;
    }
    await waitFor(() => !alive(server), 'kinesis-local to exit after its parent was SIGKILLed', 10000);
  });

  it('Ctrl-C (SIGINT to the whole process group, as a terminal sends it): exit 0, kinesis-local gone', async () => {
    const local = cli(['local', '--kinesis-port', '0', '--dynamodb-port', '0', '--kinesis-plain-port', '0'], { cwd: dir, detached: true });
    await waitFor(() => local.stdout().includes('Press Ctrl-C'), 'the endpoints', 60000);
    const [server] = childPids(local.child.pid!);
    assert.ok(server !== undefined);
    process.kill(-local.child.pid!, 'SIGINT');
    assert.equal(await local.exit, 0, local.stderr());
    assert.match(local.stdout(), /Stopping the local servers \(SIGINT\)/);
    await waitFor(() => !alive(server), 'kinesis-local to exit', 5000);
  });

  it('--timeout stops both servers and exits 0; kinesis-local is gone', async () => {
    const local = cli(['local', '--kinesis-port', '0', '--dynamodb-port', '0', '--kinesis-plain-port', '0', '--timeout', '2s'], { cwd: dir });
    await waitFor(() => local.stdout().includes('Press Ctrl-C'), 'the endpoints', 60000);
    const [server] = childPids(local.child.pid!);
    assert.ok(server !== undefined);
    assert.equal(await local.exit, 0, local.stderr());
    assert.match(local.stdout(), /Stopping the local servers \(--timeout 2000 ms\)/);
    assert.equal(alive(server), false);
  });
});
