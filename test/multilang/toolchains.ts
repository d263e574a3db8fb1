import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The real MultiLang client libraries, installed from their registries into this folder's own
 * gitignored cache on first use: amazon-kclpy from PyPI (downloaded, not pip-installed: its setup.py
 * fetches Java jars a replacement does not need) and aws-kcl from npm (never into the repo's node_modules).
 */
export const CACHE = join(import.meta.dirname, '.cache');
export const KCLPY_VERSION = '3.2.0';
export const AWS_KCL_VERSION = '2.3.2';

/** A reason to skip, or undefined. With CI set a missing toolchain fails instead of skipping. */
export type Toolchain<T> = { ok: true; value: T } | { ok: false; reason: string };

function missing<T>(reason: string): Toolchain<T> {
  if (process.env.CI) throw new Error(`${reason} (CI is set: the multilang tests must not be skipped)`);
  return { ok: false, reason };
}

function has(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Kclpy {
  python: string;
  /** Put on PYTHONPATH: the unpacked source (the amazon_kclpy package). */
  pythonPath: string;
  sampleApp: string;
}

export function kclpy(): Toolchain<Kclpy> {
  const python = process.env.PYTHON ?? 'python3';
  if (!has(python, ['--version'])) return missing(`${python} is not installed: skipping the amazon-kclpy tests`);
  const dir = join(CACHE, `amazon-kclpy-${KCLPY_VERSION}`);
  const src = join(dir, `amazon_kclpy-${KCLPY_VERSION}`);
  if (!existsSync(join(src, 'samples', 'sample_kclpy_app.py'))) {
    if (!has(python, ['-m', 'pip', '--version'])) return missing('pip is not installed: skipping the amazon-kclpy tests');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync(python, ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '-d', dir, `amazon-kclpy==${KCLPY_VERSION}`], { stdio: 'ignore', timeout: 120000 });
    const archive = readdirSync(dir).find((f) => f.endsWith('.tar.gz'));
    if (!archive) throw new Error(`pip download left no amazon-kclpy source archive in ${dir}`);
    execFileSync('tar', ['xzf', archive], { cwd: dir });
  }
  return { ok: true, value: { python, pythonPath: src, sampleApp: join(src, 'samples', 'sample_kclpy_app.py') } };
}

/** The folder whose node_modules holds aws-kcl. */
export function awsKcl(): Toolchain<string> {
  const dir = join(CACHE, `aws-kcl-${AWS_KCL_VERSION}`);
  if (!existsSync(join(dir, 'node_modules', 'aws-kcl', 'index.js'))) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    if (!has(npm, ['--version'])) return missing('npm is not installed: skipping the aws-kcl tests');
    mkdirSync(dir, { recursive: true });
    execFileSync(npm, ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-package-lock', `aws-kcl@${AWS_KCL_VERSION}`], { stdio: 'ignore', timeout: 180000 });
  }
  return { ok: true, value: dir };
}

/**
 * The Java MultiLangDaemon's jars, as aws-kcl's bootstrap lists them: Maven resolves the pom.xml that
 * the aws-kcl package ships (amazon-kinesis-client-multilang 2.7.2 and its 79 dependencies, explicit,
 * because the multilang artifact's own pom is not reachable here) from Maven Central into this
 * folder's cache. Returns the classpath folder (`<dir>/*`).
 */
export function javaDaemon(): Toolchain<string> {
  const kcl = awsKcl();
  if (!kcl.ok) return kcl;
  const dir = join(CACHE, `java-multilang-aws-kcl-${AWS_KCL_VERSION}`);
  const jars = join(dir, 'jars');
  if (!existsSync(join(dir, 'done'))) {
    if (!has('java', ['-version'])) return missing('java is not installed: skipping the Java MultiLangDaemon test');
    if (!has('mvn', ['-v'])) return missing('mvn is not installed: skipping the Java MultiLangDaemon test');
    mkdirSync(dir, { recursive: true });
    // aws-kcl's pom lists dependencies only; Maven wants the project's own coordinates too.
    const pom = readFileSync(join(kcl.value, 'node_modules', 'aws-kcl', 'pom.xml'), 'utf8').replace(
      '<modelVersion>4.0.0</modelVersion>',
      '<modelVersion>4.0.0</modelVersion><groupId>ts-kcl.test</groupId><artifactId>java-multilang</artifactId><version>1</version>',
    );
    writeFileSync(join(dir, 'pom.xml'), pom);
    execFileSync('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${jars}`], { cwd: dir, stdio: 'ignore', timeout: 600000 });
    writeFileSync(join(dir, 'done'), '');
  }
  return { ok: true, value: jars };
}
