#!/usr/bin/env node
import { runLocal } from './local.ts';
import { runDemo } from './demo.ts';
import { runLeases } from './leases.ts';
import { runWorker } from './run.ts';
import { runCreateStream } from './create-stream.ts';
import { runPut } from './put.ts';
import { UsageError } from './flags.ts';
import { ProcessorModuleError } from './processor-module.ts';
import { InitializationError } from '../errors.ts';
import { classifyStartupError } from '../common/startup-errors.ts';
import { runMultiLang } from './multilang.ts';

interface Command {
  summary: string;
  /** Parses its own flags (answering --help); resolves to the exit code. */
  run: (args: string[]) => Promise<number>;
}

/** Every command, one line each; `ts-kcl <command> --help` lists its flags. */
const commands: Record<string, Command> = {
  local: { summary: 'start local Kinesis and DynamoDB servers and write their config', run: runLocal },
  'create-stream': { summary: 'create a stream and wait until it is ACTIVE', run: runCreateStream },
  put: { summary: 'put test records into a stream', run: runPut },
  run: { summary: 'run one worker with a processor module', run: runWorker },
  leases: { summary: "print an application's lease table", run: runLeases },
  demo: { summary: 'local servers, a producer, three workers and a split, with a checked report', run: runDemo },
  multilang: { summary: "host MultiLangDaemon processors (Python, Node, ...) from the daemon's properties file, without a JVM", run: runMultiLang },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'ts-kcl — a TypeScript Kinesis Client Library',
    '',
    'Usage: ts-kcl <command> [flags]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "ts-kcl <command> --help" for the flags of one command.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 1 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${usage()}`);
    return 1;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    process.stderr.write(`ts-kcl ${name}: ${describe(err)}\n`);
    if (err instanceof UsageError) process.stderr.write(`Run "ts-kcl ${name} --help" for its flags.\n`);
    return 1;
  }
}

/** One line: the library's own errors already name the cause and fix; AWS errors get both added. */
function describe(err: unknown): string {
  if (err instanceof UsageError || err instanceof ProcessorModuleError || err instanceof InitializationError) return err.message;
  return classifyStartupError(err).message;
}

// The CLI's output is its own: no SDK notice about Node versions on every call.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`ts-kcl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
