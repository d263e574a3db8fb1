// The package as a user gets it: `npm pack` from a fresh copy of the repo (its `prepare` builds dist),
// installed with only the required peers into fresh ES module and CommonJS apps, type-checked strictly
// with `skipLibCheck: false`, then the README quick start run against local servers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startEnv, createStream, putRecords, waitFor, type TestEnv } from '../support/env.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Gitignored and outside test/: neither tsc nor eslint of the repo looks at the apps built here.
const CACHE = join(ROOT, '.cache', 'packaging');
const PACKED = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE'];
const PEERS = ['@aws-sdk/client-kinesis', '@aws-sdk/client-dynamodb', '@types/node'];

const versionOf = (pkg: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** What the tarball and the installed apps depend on: the packed files and the peers' versions. */
async function cacheKey(): Promise<string> {
  const hash = createHash('sha256');
  const src = (await readdir(join(ROOT, 'src'), { recursive: true })).map((f) => join('src', f)).sort();
  for (const file of [...PACKED, ...src]) {
    const path = join(ROOT, file);
    if (!file.endsWith('.ts') && file.startsWith('src')) continue;
    hash.update(file).update('\0').update(await readFile(path)).update('\0');
  }
  for (const pkg of PEERS) hash.update(`${pkg}@${versionOf(pkg)}\0`);
  return hash.digest('hex').slice(0, 16);
}

/** `npm pack` in a copy holding only what a clone has (no dist): proves `prepare` builds what ships. */
async function pack(dir: string): Promise<{ tarball: string; files: string[] }> {
  const listing = join(dir, 'pack.json');
  if (!existsSync(listing)) {
    const clone = join(dir, 'clone');
    await rm(clone, { recursive: true, force: true });
    await mkdir(clone, { recursive: true });
    for (const file of PACKED) await cp(join(ROOT, file), join(clone, file));
    await cp(join(ROOT, 'src'), join(clone, 'src'), { recursive: true });
    await symlink(realpathSync(join(ROOT, 'node_modules')), join(clone, 'node_modules'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: clone, maxBuffer: 64 << 20 });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    await writeFile(listing, JSON.stringify({ tarball: join(dir, info!.filename), files: info!.files.map((f) => f.path) }));
    await rm(clone, { recursive: true, force: true });
  }
  return JSON.parse(await readFile(listing, 'utf8')) as { tarball: string; files: string[] };
}

/** One node_modules for both apps: the tarball and the required peers, from the npm cache when it has them. */
async function install(apps: string, tarball: string): Promise<void> {
  if (existsSync(join(apps, 'installed'))) return;
  await rm(apps, { recursive: true, force: true });
  await mkdir(apps, { recursive: true });
  await writeFile(join(apps, 'package.json'), JSON.stringify({ name: 'apps', private: true }));
  const specs = [tarball, ...PEERS.map((p) => `${p}@${versionOf(p)}`)];
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', ...specs], { cwd: apps, maxBuffer: 64 << 20 });
  await writeFile(join(apps, 'installed'), '');
}

/** The README's quick start, verbatim. */
async function quickStart(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'README has a ```ts block under "## Quick start"');
  return code;
}

/**
 * The quick start as an ES module app and as a CommonJS app (each folder's package.json "type" decides),
 * type-checked strictly in one TypeScript program (the SDK's types are checked once) and emitted in place.
 */
async function compileApps(apps: string, code: string): Promise<{ esm: string; cjs: string }> {
  for (const type of ['module', 'commonjs']) {
    await mkdir(join(apps, type), { recursive: true });
    await writeFile(join(apps, type, 'package.json'), JSON.stringify({ type, private: true }));
    await writeFile(join(apps, type, 'quickstart.ts'), code);
  }
  const compilerOptions = {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    types: ['node'],
    incremental: true, // reruns with the same tarball skip the type-check
  };
  await writeFile(join(apps, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['module/quickstart.ts', 'commonjs/quickstart.ts'] }));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', apps], { cwd: apps }).catch((err: Error & { stdout?: string }) => {
    throw new Error(`the apps do not compile:\n${err.stdout ?? err.message}`);
  });
  return { esm: join(apps, 'module', 'quickstart.js'), cjs: join(apps, 'commonjs', 'quickstart.js') };
}

/** The app's environment: the SDK's own variables point it at the local servers, as a user would. */
function appEnv(env: TestEnv): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(childEnv)) if (key.startsWith('AWS_') || key.startsWith('NODE_')) delete childEnv[key];
  return Object.assign(childEnv, {
    AWS_REGION: env.clientConfig.region,
    AWS_ACCESS_KEY_ID: env.clientConfig.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: env.clientConfig.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_KINESIS: env.clientConfig.endpoints.kinesis,
    AWS_ENDPOINT_URL_DYNAMODB: env.clientConfig.endpoints.dynamodb,
  });
}

/** Runs a compiled quick start on the local servers until it printed `expected`, then stops it with SIGTERM. */
async function runQuickStart(env: TestEnv, main: string, expected: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [main], { env: appEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => expected.every((line) => stdout.includes(line)), `the quick start to print ${expected.join(', ')}`, 40000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  }
  child.kill('SIGTERM');
  return { code: await exited, stdout, stderr };
}

describe('the packed tarball in fresh apps', () => {
  let env: TestEnv;
  let apps: string;
  let files: string[];
  before(async () => {
    const started = startEnv();
    const key = await cacheKey();
    const dir = join(CACHE, key);
    for (const old of existsSync(CACHE) ? await readdir(CACHE) : []) if (old !== key) await rm(join(CACHE, old), { recursive: true, force: true });
    const t0 = Date.now();
    const packed = await pack(dir);
    const t1 = Date.now();
    files = packed.files;
    apps = join(dir, 'apps');
    await install(apps, packed.tarball);
    console.log(`pack ${t1 - t0} ms, install ${Date.now() - t1} ms`);
    env = await started;
    await createStream(env.kinesis, 'my-stream', 1);
  });
  after(async () => env?.close());

  it('ships the built code, its types, valid source maps and the LICENSE, not the sources', async () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']) {
      assert.ok(files.includes(f), `the tarball has ${f}`);
    }
    assert.deepEqual(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f)), []);
    const installed = join(apps, 'node_modules', 'ts-kcl');
    const map = JSON.parse(await readFile(join(installed, 'dist', 'index.js.map'), 'utf8')) as { sourcesContent?: string[] };
    assert.match(map.sourcesContent?.[0] ?? '', /export .* from '\.\/coordinator\/scheduler\.ts'/, 'source maps carry their sources');
    // The optional peers stay out: the apps below compile and run without them.
    assert.equal(existsSync(join(apps, 'node_modules', '@aws-sdk', 'client-cloudwatch')), false);
    assert.equal(existsSync(join(apps, 'node_modules', '@opentelemetry', 'api')), false);
  });

  it('the README quick start compiles and runs in an ES module app and a CommonJS app', async () => {
    const code = await quickStart();
    const { esm, cjs } = await compileApps(apps, code);
    assert.match(await readFile(cjs, 'utf8'), /require\("ts-kcl"\)/, 'the CommonJS app require()s ts-kcl');

    for (const [name, main] of [['esm', esm], ['cjs', cjs]] as const) {
      const records = [0, 1, 2].map((i) => ({ partitionKey: `pk-${name}`, data: `${name}-record-${i}` }));
      await putRecords(env.kinesis, 'my-stream', records);
      const started = Date.now();
      const result = await runQuickStart(env, main, records.map((r) => `${r.partitionKey} ${r.data}`));
      console.log(`${name} quick start: ${Date.now() - started} ms`);
      assert.equal(result.code, 0, `the ${name} quick start exits 0 after SIGTERM; stderr:\n${result.stderr}`);
    }
  });

  it("the installed bin runs, and on a supported Node prints none of the SDK's Node-version warning", async (t) => {
    const bin = join(apps, 'node_modules', '.bin', 'ts-kcl');
    const args = ['leases', '--app', 'my-app', '--endpoint', env.clientConfig.endpoints.dynamodb, '--region', env.clientConfig.region];
    const { stdout, stderr } = await run(bin, args, { env: appEnv(env) });
    assert.match(stdout, /shardId-000000000000/, 'the lease the quick starts wrote');
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 12)) return t.skip(`Node ${process.versions.node} is below engines.node (>=22.12); CI runs Node 22`);
    assert.doesNotMatch(stderr, /NodeVersionSupportWarning/);
  });
});
