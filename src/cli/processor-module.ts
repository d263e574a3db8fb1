import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ShardRecordProcessor, ShardRecordProcessorFactory } from '../processor/shard-record-processor.ts';

/**
 * `--processor ./module`: loads the module (JavaScript, or TypeScript where this Node can run it),
 * takes its default export (a factory `(shard) => processor` or a class), and checks the processor's
 * shape before the worker starts, so a wrong module fails once with one line, not forever per shard.
 */
export class ProcessorModuleError extends Error {
  override readonly name = 'ProcessorModuleError';
}

const METHODS = ['initialize', 'processRecords', 'leaseLost', 'shardEnded', 'shutdownRequested'] as const;

export async function loadProcessorFactory(path: string, streamName = ''): Promise<ShardRecordProcessorFactory> {
  const file = resolve(path);
  if (!existsSync(file)) throw new ProcessorModuleError(`--processor ${path}: no such file (${file})`);
  const mod = await importModule(path, file);
  const exported = mod.default;
  if (typeof exported !== 'function') {
    const names = Object.keys(mod).filter((k) => k !== 'default');
    throw new ProcessorModuleError(
      `${path} must have a default export: a processor factory (shard) => processor, or a processor class` +
        (exported === undefined ? ` (it has none${names.length ? `; it exports ${names.join(', ')}` : ''})` : ` (it is a ${typeof exported})`),
    );
  }
  const factory = isClass(exported) ? classFactory(exported as new (shard: { shardId: string; streamName: string }) => ShardRecordProcessor) : (exported as ShardRecordProcessorFactory);
  checkShape(path, factory, streamName, isClass(exported));
  return factory;
}

/** A class, including one compiled to an ES5 function: it has the processor methods on its prototype. */
function isClass(fn: unknown): boolean {
  if (typeof fn !== 'function') return false;
  if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) return true;
  const proto = (fn as { prototype?: Record<string, unknown> }).prototype;
  return proto !== undefined && METHODS.some((m) => typeof proto[m] === 'function');
}

const classFactory =
  (Ctor: new (shard: { shardId: string; streamName: string }) => ShardRecordProcessor): ShardRecordProcessorFactory =>
  (shard) =>
    new Ctor(shard);

/** Builds one processor (never initialized) and checks it has every method the KCL calls. */
function checkShape(path: string, factory: ShardRecordProcessorFactory, streamName: string, fromClass: boolean): void {
  let processor: unknown;
  try {
    processor = factory({ shardId: 'shardId-shape-check', streamName });
  } catch (err) {
    throw new ProcessorModuleError(`${path}: building a processor failed: ${(err as Error).message}`, { cause: err });
  }
  if (processor === null || typeof processor !== 'object' || typeof (processor as { then?: unknown }).then === 'function') {
    throw new ProcessorModuleError(`${path}: the default export ${fromClass ? 'class' : 'factory'} must return a processor object synchronously, not ${describe(processor)}`);
  }
  const missing = METHODS.filter((m) => typeof (processor as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) {
    throw new ProcessorModuleError(`${path}: the processor lacks ${missing.join(', ')} (a processor has ${METHODS.join(', ')})`);
  }
}

const describe = (v: unknown): string => (v === null ? 'null' : typeof (v as { then?: unknown })?.then === 'function' ? 'a Promise' : typeof v);

async function importModule(path: string, file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  try {
    if (/\.[cm]?ts$/.test(file) && !typeScriptLoads()) return withEsmDefault(await importWithAppTsx(path, file, url));
    return withEsmDefault((await import(url)) as Record<string, unknown>);
  } catch (err) {
    if (err instanceof SyntaxError) throw new ProcessorModuleError(syntaxErrorLine(path, file, err), { cause: err });
    throw err;
  }
}

/** A module compiled to CommonJS (`exports.default = ...`, or TypeScript without "type": "module") has its default export one level down. */
function withEsmDefault(mod: Record<string, unknown>): Record<string, unknown> {
  const inner = mod.default as { default?: unknown } | undefined;
  return typeof mod.default === 'object' && mod.default !== null && typeof inner?.default === 'function' ? inner : mod;
}

/** This Node strips types itself, or a TypeScript loader is already in place (`node --import tsx`). */
function typeScriptLoads(): boolean {
  const strips = (process.features as { typescript?: unknown }).typescript;
  if (strips !== undefined && strips !== false) return true;
  return /strip-types|transform-types|\btsx\b|ts-node/.test([...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '));
}

/** Loads the module through the app's own tsx (`tsImport`, scoped to this one import), else says how to run it. */
async function importWithAppTsx(path: string, file: string, url: string): Promise<Record<string, unknown>> {
  const tsxApi = tsxEsmApi();
  if (tsxApi === undefined) {
    throw new ProcessorModuleError(
      `${path} is TypeScript, which Node ${process.version} cannot load by itself. Run it with Node >= 22.18 (or 22.6+ with ` +
        `NODE_OPTIONS=--experimental-strip-types), install tsx in the app (npm i -D tsx) and ts-kcl uses it, or compile ${file} to JavaScript`,
    );
  }
  const { tsImport } = (await import(pathToFileURL(tsxApi).href)) as { tsImport: (specifier: string, parentURL: string) => Promise<Record<string, unknown>> };
  return tsImport(url, import.meta.url);
}

/** The ESM entry of `tsx/esm/api` in the app's node_modules (require.resolve would give its CommonJS one). */
function tsxEsmApi(): string | undefined {
  try {
    const manifest = createRequire(join(process.cwd(), 'noop.js')).resolve('tsx/package.json');
    const exports = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: string | { default?: string } }> }).exports;
    const entry = exports?.['./esm/api']?.import;
    const target = typeof entry === 'string' ? entry : entry?.default;
    return target === undefined ? undefined : join(dirname(manifest), target);
  } catch {
    return undefined;
  }
}

/** `file:line: SyntaxError: message`: Node's import() drops the location; `node --check` keeps it. */
function syntaxErrorLine(path: string, file: string, err: SyntaxError): string {
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10000 });
  const where = new RegExp(`^${escape(file)}:(\\d+)`, 'm').exec(check.stderr ?? '');
  if (where) return `${path}:${where[1]}: SyntaxError: ${err.message}`;
  return `${path} (or a module it imports): SyntaxError: ${err.message}`;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
