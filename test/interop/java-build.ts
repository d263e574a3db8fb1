// Builds the Java KCL test worker (test/interop/java-worker) with Maven during test set-up, into this
// folder's gitignored .cache (its own Maven repository too), once per source change and KCL version.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export type KclVersion = '2.7.2' | '3.5.1';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PROJECT = join(HERE, 'java-worker');
const SOURCES = ['pom.xml', 'src/main/java/tskcl/interop/JavaWorker.java', 'src/main/java/tskcl/interop/Kcl3Config.java'];
export const CACHE = join(HERE, '.cache');

export interface JavaWorkerBuild {
  version: KclVersion;
  /** The class path: the worker's jar and every dependency. */
  classpath: string;
}

/** Why the JVM part cannot run here, or undefined when java and mvn are both on the PATH. */
export function missingToolchain(): string | undefined {
  for (const [tool, arg] of [['java', '-version'], ['mvn', '-v']] as const) {
    const r = spawnSync(tool, [arg], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${tool} is not installed (needed to build and run the Java KCL worker)`;
  }
  return undefined;
}

/** Builds (or finds built) the worker for one KCL version; throws with Maven's output when the build fails. */
export function buildJavaWorker(version: KclVersion): Promise<JavaWorkerBuild> {
  return withBuildLock(() => build(version));
}

async function build(version: KclVersion): Promise<JavaWorkerBuild> {
  const dir = join(CACHE, `build-${version}`);
  const classpath = `${join(dir, 'java-worker-1.jar')}:${join(dir, 'lib', '*')}`;
  const stamp = join(dir, 'built-from');
  const hash = createHash('sha256').update(version);
  for (const f of SOURCES) hash.update(readFileSync(join(PROJECT, f)));
  const digest = hash.digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return { version, classpath };
  const args = ['-B', '-q', `-Dmaven.repo.local=${join(CACHE, 'm2')}`, `-Dbuild.dir=${dir}`, ...(version === '3.5.1' ? ['-Pkcl3'] : []), 'package'];
  // Offline first when the cache has a repository (fast, no network); online when that fails.
  const offline = existsSync(join(CACHE, 'm2')) ? await mvn(['-o', ...args]) : { code: 1, output: '' };
  const result = offline.code === 0 ? offline : await mvn(args);
  if (result.code !== 0) throw new Error(`Building the Java KCL ${version} worker failed (mvn ${args.join(' ')}):\n${result.output.slice(-4000)}`);
  writeFileSync(stamp, digest);
  return { version, classpath };
}

/** One Maven at a time on the shared local repository (test files of both versions may start together). */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(CACHE, 'build.lock');
  mkdirSync(CACHE, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than a build's time-out was left by a killed run.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 660000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function mvn(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('mvn', args, { cwd: PROJECT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}
