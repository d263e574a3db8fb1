import { createRequire } from 'node:module';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { once } from 'node:events';

/**
 * Embedded local servers for development, demos and tests: `kinesis-local` (Kinesis Mock, a child
 * process, with HTTP/2 for fan-out), `kinesalite` and `dynalite` (in-process). They are optional
 * packages: install them as devDependencies (`npm i -D kinesis-local kinesalite dynalite`).
 */
export type KinesisServerKind = 'kinesis-local' | 'kinesalite';

export interface LocalServer {
  /** Plain HTTP endpoint for unary calls. */
  endpoint: string;
  stop(): Promise<void>;
}
export interface KinesisLocalServer extends LocalServer {
  /** HTTPS + HTTP/2 endpoint (self-signed) for SubscribeToShard; only kinesis-local has one. */
  http2Endpoint?: string;
}
export interface LocalServers {
  kinesis: KinesisLocalServer;
  dynamodb: LocalServer;
  kinesisKind: KinesisServerKind;
  stop(): Promise<void>;
}

function requireOptional(name: string): unknown {
  for (const base of [import.meta.url, join(process.cwd(), 'noop.js')]) {
    try {
      return createRequire(base)(name);
    } catch {
      /* try the next base */
    }
  }
  throw new Error(`The local server package "${name}" is not installed: run \`npm install --save-dev ${name}\``);
}

function resolveOptional(name: string): string {
  for (const base of [import.meta.url, join(process.cwd(), 'noop.js')]) {
    try {
      return createRequire(base).resolve(name);
    } catch {
      /* try the next base */
    }
  }
  throw new Error(`The local server package "${name}" is not installed: run \`npm install --save-dev ${name}\``);
}

/** A port nobody listens on right now (on loopback). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function listen(server: Server, port: number): Promise<number> {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

type ServerFactory = (options: Record<string, unknown>) => Server;

export async function startDynalite(port = 0): Promise<LocalServer> {
  const dynalite = requireOptional('dynalite') as ServerFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const bound = await listen(server, port);
  return { endpoint: `http://127.0.0.1:${bound}`, stop: () => closeServer(server) };
}

export async function startKinesalite(port = 0): Promise<KinesisLocalServer> {
  const kinesalite = requireOptional('kinesalite') as ServerFactory;
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
  const bound = await listen(server, port);
  return { endpoint: `http://127.0.0.1:${bound}`, stop: () => closeServer(server) };
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kinesis-local exited with code ${child.exitCode} before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`kinesis-local did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts kinesis-local in a child process; durations shortened so streams and reshards are quick. */
export async function startKinesisLocal(options: { port?: number; tlsPort?: number; env?: Record<string, string> } = {}): Promise<KinesisLocalServer> {
  const main = resolveOptional('kinesis-local/main.js');
  const port = options.port ?? (await freePort());
  const tlsPort = options.tlsPort ?? (await freePort());
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      KINESIS_MOCK_CERT_PATH: join(dirname(main), 'server.json'),
      KINESIS_MOCK_PLAIN_PORT: String(port),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      LOG_LEVEL: 'ERROR',
      CREATE_STREAM_DURATION: '0ms',
      DELETE_STREAM_DURATION: '0ms',
      REGISTER_STREAM_CONSUMER_DURATION: '100ms',
      DEREGISTER_STREAM_CONSUMER_DURATION: '100ms',
      SPLIT_SHARD_DURATION: '100ms',
      MERGE_SHARDS_DURATION: '100ms',
      UPDATE_SHARD_COUNT_DURATION: '100ms',
      SHARD_LIMIT: '1000',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitForPort(port, child, 30000);
    await waitForPort(tlsPort, child, 30000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  const exited = child.exitCode === null ? once(child, 'exit').then(() => undefined) : Promise.resolve();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    http2Endpoint: `https://127.0.0.1:${tlsPort}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts a Kinesis server of the given kind and dynalite; `stop()` stops both. */
export async function startLocalServers(options: { kinesis?: KinesisServerKind; kinesisPort?: number; dynamodbPort?: number } = {}): Promise<LocalServers> {
  const kinesisKind = options.kinesis ?? 'kinesis-local';
  const [kinesis, dynamodb] = await Promise.all([
    kinesisKind === 'kinesis-local' ? startKinesisLocal(options.kinesisPort !== undefined ? { port: options.kinesisPort } : {}) : startKinesalite(options.kinesisPort),
    startDynalite(options.dynamodbPort),
  ]);
  return {
    kinesis,
    dynamodb,
    kinesisKind,
    stop: async () => {
      await Promise.allSettled([kinesis.stop(), dynamodb.stop()]);
    },
  };
}
