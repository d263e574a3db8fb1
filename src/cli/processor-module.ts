import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
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
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.[cm]?ts$/.test(file)) return importTypeScript(path, file, url);
    if (err instanceof SyntaxError) throw new ProcessorModuleError(syntaxErrorLine(path, file, err), { cause: err });
    throw err;
  }
}

/** This Node cannot strip types: use the app's own tsx when it has one, else say how to run it. */
async function importTypeScript(path: string, file: string, url: string): Promise<Record<string, unknown>> {
  const tsxApi = resolveFromApp('tsx/esm/api');
  if (tsxApi !== undefined) {
    const { register } = (await import(pathToFileURL(tsxApi).href)) as { register: () => unknown };
    register();
    return (await import(url)) as Record<string, unknown>;
  }
  throw new ProcessorModuleError(
    `${path} is TypeScript, which Node ${process.version} cannot load by itself. Run it with Node >= 22.18 (or 22.6+ with ` +
      `NODE_OPTIONS=--experimental-strip-types), install tsx in the app (npm i -D tsx) and ts-kcl uses it, or compile ${file} to JavaScript`,
  );
}

function resolveFromApp(name: string): string | undefined {
  try {
    return createRequire(join(process.cwd(), 'noop.js')).resolve(name);
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
