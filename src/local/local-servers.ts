import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { settlesWithin } from '../common/backoff.ts';

/**
 * Embedded local servers for development, demos and tests: `kinesis-local` (Kinesis Mock, a child
 * process, with HTTP/2 for fan-out), `kinesalite` and `dynalite` (in-process). They are optional
 * packages: install them as devDependencies (`npm i -D kinesis-local dynalite`, or kinesalite).
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

/** The npm packages each server needs; `ts-kcl local` checks them all before starting anything. */
export const SERVER_PACKAGES = { 'kinesis-local': 'kinesis-local', kinesalite: 'kinesalite', dynalite: 'dynalite' } as const;

/** One install line naming every missing package, e.g. `npm install --save-dev kinesis-local dynalite`. */
export function installHint(missing: string[]): string {
  return `The local servers need the npm package${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}: run \`npm install --save-dev ${missing.join(' ')}\``;
}

/** Which of these packages cannot be found from this install or the current directory. */
export function missingPackages(names: string[]): string[] {
  return names.filter((name) => {
    try {
      resolveOptional(name === 'kinesis-local' ? 'kinesis-local/main.js' : name);
      return false;
    } catch {
      return true;
    }
  });
}

function requireOptional(name: string): unknown {
  for (const base of [import.meta.url, join(process.cwd(), 'noop.js')]) {
    try {
      return createRequire(base)(name);
    } catch {
      /* try the next base */
    }
  }
  throw new Error(installHint([name]));
}

function resolveOptional(name: string): string {
  for (const base of [import.meta.url, join(process.cwd(), 'noop.js')]) {
    try {
      return createRequire(base).resolve(name);
    } catch {
      /* try the next base */
    }
  }
  throw new Error(installHint([name.split('/')[0]!]));
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

/**
 * dynalite and kinesalite throw from a request's 'error' handler, so a client that disconnects in the
 * middle of sending a request (a worker killed with -9, a test's client torn down) crashes the process
 * hosting them with an uncaught "aborted". The client is gone: such a request is simply dropped.
 */
function tolerateClientAborts(server: Server): Server {
  server.prependListener('request', (req: IncomingMessage) => {
    const on = req.on.bind(req);
    req.on = ((event: string, listener: (...args: unknown[]) => void) => on(event, event === 'error' ? () => undefined : listener)) as typeof req.on;
  });
  return server;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** How long stop() waits for the requests in progress to be answered before closing anyway. */
const DRAIN_MS = 5000;

/**
 * dynalite and kinesalite rethrow a database error from a request's action, uncaught, in this process, and
 * close their database on close() under requests still being served: kinesalite at once, dynalite once the
 * last connection is gone, which a client that gave up on a call (aborted at a worker's shutdown) leaves
 * behind between a read and a write. So stopping refuses new requests (503, as a server shutting down
 * would), waits for those in progress to be answered, then closes.
 */
function drainedStop(server: Server): () => Promise<void> {
  const handlers = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  let stopping = false;
  const serving = new Set<Promise<void>>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (stopping) return void res.writeHead(503, { connection: 'close' }).end();
    const done = answered(req, res).then(() => void serving.delete(done));
    serving.add(done);
    for (const handler of handlers) handler.call(server, req, res);
  });
  return async () => {
    stopping = true;
    await settlesWithin(Promise.all(serving), DRAIN_MS);
    await closeServer(server);
  };
}

/**
 * Settles once the server has answered (its `end()`, called even when the socket is gone), or once the
 * client has left before sending the whole body (the server then never starts the request).
 */
function answered(req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      resolve();
      return end(...args);
    }) as ServerResponse['end'];
    req.once('close', () => {
      if (!req.complete) resolve();
    });
  });
}

/** Serves dynalite or kinesalite from this process on loopback, guarded against both ways it could crash it. */
async function serveInProcess(server: Server, port: number): Promise<LocalServer> {
  const stop = drainedStop(tolerateClientAborts(server));
  const bound = await listen(server, port);
  return { endpoint: `http://127.0.0.1:${bound}`, stop };
}

export async function startDynalite(port = 0): Promise<LocalServer> {
  const dynalite = requireOptional('dynalite') as ServerFactory;
  return serveInProcess(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }), port);
}

export async function startKinesalite(port = 0): Promise<KinesisLocalServer> {
  const kinesalite = requireOptional('kinesalite') as ServerFactory;
  return serveInProcess(kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 }), port);
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

/**
 * Runs in kinesis-local's process before its own code: the process kills itself once its parent is gone
 * (its parent id changes when the parent dies, even by SIGKILL), so kinesis-local never outlives it.
 * Polled: kinesis-local stops reading stdin, so a closed pipe alone is not noticed.
 */
const WATCHDOG = 'const parent=process.ppid;setInterval(()=>{if(process.ppid!==parent)process.kill(process.pid,"SIGKILL")},250).unref()';

export interface KinesisLocalOptions {
  port?: number;
  tlsPort?: number;
  /** A kinesis-local `server.json` ({ server: { key, cert } }) for the TLS port; default: the package's own. */
  certPath?: string;
  env?: Record<string, string>;
}

/** Starts kinesis-local in a child process; durations shortened so streams and reshards are quick. */
export async function startKinesisLocal(options: KinesisLocalOptions = {}): Promise<KinesisLocalServer> {
  const main = resolveOptional('kinesis-local/main.js');
  const port = options.port ?? (await freePort());
  const tlsPort = options.tlsPort ?? (await freePort());
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(WATCHDOG)}`, main], {
    env: {
      ...process.env,
      KINESIS_MOCK_CERT_PATH: options.certPath ?? join(dirname(main), 'server.json'),
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
  // kinesis-local ignores SIGTERM: it is always stopped with SIGKILL, also when this process exits.
  const kill = (): void => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  process.once('exit', kill);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = child.exitCode === null ? once(child, 'exit').then(() => undefined) : Promise.resolve();
  const stop = async (): Promise<void> => {
    kill();
    await exited;
    process.removeListener('exit', kill);
  };
  try {
    await waitForPort(port, child, 30000);
    await waitForPort(tlsPort, child, 30000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return { endpoint: `http://127.0.0.1:${port}`, http2Endpoint: `https://127.0.0.1:${tlsPort}`, stop };
}

export interface LocalServersOptions {
  kinesis?: KinesisServerKind;
  kinesisPort?: number;
  /** kinesis-local's TLS (HTTP/2) port. */
  kinesisTlsPort?: number;
  dynamodbPort?: number;
  /** kinesis-local's certificate file (see KinesisLocalOptions.certPath). */
  certPath?: string;
}

/** Starts a Kinesis server of the given kind and dynalite; `stop()` stops both. If one fails, the other is stopped. */
export async function startLocalServers(options: LocalServersOptions = {}): Promise<LocalServers> {
  const kinesisKind = options.kinesis ?? 'kinesis-local';
  const started = await Promise.allSettled([
    kinesisKind === 'kinesis-local'
      ? startKinesisLocal({
          ...(options.kinesisPort !== undefined ? { port: options.kinesisPort } : {}),
          ...(options.kinesisTlsPort !== undefined ? { tlsPort: options.kinesisTlsPort } : {}),
          ...(options.certPath !== undefined ? { certPath: options.certPath } : {}),
        })
      : startKinesalite(options.kinesisPort),
    startDynalite(options.dynamodbPort),
  ]);
  const [kinesis, dynamodb] = started;
  if (kinesis.status === 'rejected' || dynamodb.status === 'rejected') {
    await Promise.allSettled(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : Promise.resolve())));
    throw kinesis.status === 'rejected' ? kinesis.reason : (dynamodb as PromiseRejectedResult).reason;
  }
  return {
    kinesis: kinesis.value,
    dynamodb: dynamodb.value,
    kinesisKind,
    stop: async () => {
      await Promise.allSettled([kinesis.value.stop(), dynamodb.value.stop()]);
    },
  };
}
