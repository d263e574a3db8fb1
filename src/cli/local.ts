import { writeFileSync } from 'node:fs';
import { resolve, basename } from 'node:path';
import { installHint, missingPackages, startLocalServers, type LocalServers } from '../local/local-servers.ts';
import { ensureLocalCertificate } from '../local/tls-certificate.ts';
import { choosePort } from '../local/ports.ts';
import { exportLines, formatEnvFile, type LocalEnvironment } from '../local/env-file.ts';
import { parseFlags, type CommandSpec, type Flags } from './flags.ts';

export const LOCAL: CommandSpec = {
  name: 'local',
  summary: 'Starts a local Kinesis server (kinesis-local or kinesalite) and DynamoDB (dynalite) on stable ports, writes their config to an env file and prints it; stops (servers included) on Ctrl-C, SIGTERM or --timeout.',
  flags: {
    kinesis: { kind: 'string', value: 'kinesis-local|kinesalite', help: 'the Kinesis server', default: 'kinesis-local' },
    'kinesis-port': { kind: 'port', help: 'the Kinesis endpoint (kinesis-local: https, HTTP/1.1 and HTTP/2, fan-out included); 0 = any free port', default: '4567' },
    'dynamodb-port': { kind: 'port', help: 'the DynamoDB endpoint; 0 = any free port', default: '4568' },
    'kinesis-plain-port': { kind: 'port', help: "kinesis-local's plain-HTTP endpoint (unary calls only); 0 = any free port", default: '4569' },
    'env-file': { kind: 'string', value: 'FILE', help: 'where to write the endpoints as KEY=value lines', default: '.ts-kcl-local.env' },
    'cert-dir': { kind: 'string', value: 'DIR', help: "where to keep kinesis-local's TLS certificate for 127.0.0.1 (made once, reused while valid)", default: '.ts-kcl-local' },
    timeout: { kind: 'duration', help: 'stop this long after the servers are up (default: run until Ctrl-C or SIGTERM)' },
  },
  notes: [
    'A default port that is taken (e.g. by another `ts-kcl local`) is replaced by a free one; the env file always has the ports in use.',
    'Needs the npm packages kinesis-local (or kinesalite) and dynalite: npm install --save-dev kinesis-local dynalite',
    'Add .ts-kcl-local.env and .ts-kcl-local/ to .gitignore.',
  ],
};

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** `ts-kcl local`: start both local servers, write and print their config, stay up until stopped. */
export async function runLocal(args: string[]): Promise<number> {
  const flags = parseFlags(LOCAL, args);
  if (!flags) return 0;
  const kind = flags.oneOf('kinesis', ['kinesis-local', 'kinesalite'] as const)!;
  const missing = missingPackages([kind, 'dynalite']);
  if (missing.length > 0) throw new Error(installHint(missing));
  // Signals that arrive while the servers start stop them as soon as they are up (never an orphan).
  const stopRequested = stopSignal();
  try {
    const { servers, env, notes } = await start(flags, kind);
    try {
      const envFile = flags.string('env-file')!;
      writeFileSync(envFile, formatEnvFile(env, basename(envFile)));
      process.stdout.write(describe(kind, servers, env, envFile, notes));
      stopRequested.after(flags.duration('timeout'));
      const why = await stopRequested.promise;
      process.stdout.write(`Stopping the local servers (${why}).\n`);
    } finally {
      await servers.stop();
    }
  } finally {
    stopRequested.dispose();
  }
  return 0;
}

async function start(flags: Flags, kind: 'kinesis-local' | 'kinesalite'): Promise<{ servers: LocalServers; env: LocalEnvironment; notes: string[] }> {
  const notes: string[] = [];
  const pick = async (what: string, flag: string, stable: number): Promise<number> => {
    const chosen = await choosePort(what, flags.string(flag) === String(stable) ? undefined : flags.port(flag), stable);
    if (chosen.note) notes.push(chosen.note);
    return chosen.port;
  };
  const kinesisPort = await pick('Kinesis', 'kinesis-port', 4567);
  const dynamodbPort = await pick('DynamoDB', 'dynamodb-port', 4568);
  if (kind === 'kinesalite') {
    const servers = await startLocalServers({ kinesis: kind, kinesisPort, dynamodbPort });
    return { servers, env: { kinesisEndpoint: servers.kinesis.endpoint, dynamodbEndpoint: servers.dynamodb.endpoint }, notes };
  }
  const plainPort = await pick('Kinesis plain HTTP', 'kinesis-plain-port', 4569);
  const cert = ensureLocalCertificate(resolve(flags.string('cert-dir')!));
  const servers = await startLocalServers({ kinesis: kind, kinesisPort: plainPort, kinesisTlsPort: kinesisPort, dynamodbPort, certPath: cert.serverJsonPath });
  const env: LocalEnvironment = { kinesisEndpoint: servers.kinesis.http2Endpoint!, dynamodbEndpoint: servers.dynamodb.endpoint, caCertPath: cert.certPath };
  return { servers, env, notes };
}

function describe(kind: string, servers: LocalServers, env: LocalEnvironment, envFile: string, notes: string[]): string {
  const tls = servers.kinesis.http2Endpoint;
  const endpoints = { kinesis: servers.kinesis.endpoint, ...(tls && env.caCertPath ? { kinesisHttp2: tls } : {}), dynamodb: servers.dynamodb.endpoint };
  return [
    ...notes.map((n) => `Note: ${n}`),
    tls && env.caCertPath ? `Kinesis (${kind}): ${tls}  (every call, fan-out included; plain HTTP: ${servers.kinesis.endpoint})` : `Kinesis (${kind}): ${servers.kinesis.endpoint}`,
    `DynamoDB (dynalite): ${servers.dynamodb.endpoint}`,
    '',
    `Wrote ${envFile}. Start your app (or a ts-kcl command) with it loaded, and it needs no endpoint config:`,
    `  set -a; . ${envFile.startsWith('/') ? envFile : `./${envFile}`}; set +a`,
    'or paste:',
    ...exportLines(env).map((l) => `  ${l}`),
    '',
    'Or in code:',
    `  clientConfig: { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, endpoints: { ${Object.entries(endpoints).map(([k, v]) => `${k}: '${v}'`).join(', ')} } }`,
    ...(env.caCertPath ? [`  (fan-out also needs NODE_EXTRA_CA_CERTS=${env.caCertPath} in the app's environment)`] : []),
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

/** Resolves with the reason to stop: a signal (also one that came during start-up) or, once `after` is called, the timeout. */
function stopSignal(): { promise: Promise<string>; after(timeoutMs: number | undefined): void; dispose(): void } {
  let done!: (why: string) => void;
  const promise = new Promise<string>((resolve) => (done = resolve));
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => done(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  let timer: NodeJS.Timeout | undefined;
  return {
    promise,
    after: (timeoutMs) => {
      if (timeoutMs !== undefined) timer = setTimeout(() => done(`--timeout ${timeoutMs} ms`), timeoutMs);
    },
    dispose: () => {
      clearTimeout(timer);
      for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    },
  };
}
