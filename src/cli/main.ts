#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runLocal } from './local.ts';
import { runDemo } from './demo.ts';
import { runLeases } from './leases.ts';
import { runWorker } from './run.ts';
import { runMultiLang } from './multilang.ts';

const USAGE = `ts-kcl — a TypeScript Kinesis Client Library

Usage:
  ts-kcl local  [--kinesis kinesis-local|kinesalite] [--kinesis-port N] [--dynamodb-port N]
  ts-kcl demo   [--records N] [--workers N] [--shards N] [--kinesis kinesis-local|kinesalite]
  ts-kcl leases --app NAME [--endpoint URL] [--region R] [--json]
  ts-kcl run    --app NAME --stream NAME --processor ./module.js [--initial-position LATEST|TRIM_HORIZON]
                [--kinesis-endpoint URL] [--dynamodb-endpoint URL] [--region R] [--worker-id ID]
`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  local: runLocal,
  demo: runDemo,
  leases: runLeases,
  run: runWorker,
  multilang: runMultiLang,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  const handler = commands[command];
  if (!handler) {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
    return 1;
  }
  return handler(rest);
}

export { parseArgs };

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`ts-kcl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
