import { connect as netConnect, isIP, type OnReadOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Http1ResponseParser, type Http1Response } from './response-parser.ts';
import type { AbortLike } from '../deadline.ts';

/** The SDK's default: at most this many connections to one origin, later requests queue. */
export const DEFAULT_MAX_SOCKETS = 50;
/** An idle connection is closed after about this long, before a server or load balancer drops it (60 s on AWS's). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30000;

export interface Http1Request {
  /** Origin only: protocol (http: or https:), host and port. */
  origin: URL;
  method: string;
  path: string;
  /** Sent as given, `host` among them. */
  headers: Record<string, string>;
  body: string;
  /**
   * Whether a reused connection that closed before answering (the server dropped it while idle) may
   * carry the request again on a new one, unseen by the caller (default true: reads). False for
   * writes the caller must see fail, so that its retry policy counts the attempt and its read-back
   * decides what happened: the server may have acted on the request before closing.
   */
  retryStale?: boolean;
}

/**
 * A minimal HTTP/1.1 client for the lean paths' hot calls (GetRecords, GetShardIterator, lease
 * renewals): one write per request (head and body together) on a kept-alive TCP or TLS connection, the
 * answer read by a small parser, with no per-request streams, emitters, timers or agent bookkeeping. An
 * idle poll costs ~0.8 ms of CPU on it against ~1.2 ms through the SDK's node:http handler
 * (BENCHMARKS.md, "Stop 13"). Requests to one origin share a
 * LIFO pool of connections; a reused connection that closes before answering (the server dropped it
 * while idle) is retried once on a new one unless the request says not to (`retryStale`), any other
 * failure is the caller's to retry. The abort signal ends a request at once: queued, connecting or
 * waiting for the answer.
 */
export class KeepAliveHttp1Client {
  private readonly pools = new Map<string, Pool>();
  private destroyed = false;

  constructor(private readonly options: { maxSockets?: number; idleTimeoutMs?: number } = {}) {}

  async request(request: Http1Request, signal: AbortLike): Promise<Http1Response> {
    const head = requestHead(request);
    const pool = this.pool(request.origin);
    try {
      return await (await pool.acquire(signal)).exchange(head, request.body, signal);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      if (request.retryStale === false) throw connectionClosed();
      return (await pool.acquire(signal, true)).exchange(head, request.body, signal);
    }
  }

  /** Closes every connection; later requests fail. */
  destroy(): void {
    this.destroyed = true;
    for (const pool of this.pools.values()) pool.destroy();
    this.pools.clear();
  }

  private pool(origin: URL): Pool {
    if (this.destroyed) throw new Error('KeepAliveHttp1Client was destroyed');
    const key = `${origin.protocol}//${origin.host}`;
    let pool = this.pools.get(key);
    if (!pool) this.pools.set(key, (pool = new Pool(origin, this.options.maxSockets ?? DEFAULT_MAX_SOCKETS, this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS)));
    return pool;
  }
}

/** A reused connection closed before any byte of its answer: the request is sent again on a new one. */
class StaleConnection extends Error {}

/** What a connection's listeners report to, while it carries a request. */
interface Exchange {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
}

/** One socket with its listeners attached once, for every request it carries. */
class Connection {
  reused = false;
  idleSince = 0;
  private current: Exchange | undefined;

  constructor(
    readonly socket: Socket,
    private readonly pool: Pool,
  ) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    socket.on('end', () => this.current?.end());
    socket.on('error', (err) => this.current?.error(err)); // while idle: 'close' follows and takes it out of the pool
    socket.on('close', () => {
      this.current?.end();
      pool.closed(this);
    });
  }

  /** Bytes read into the shared read buffer: valid only during this call (the parser copies what it keeps). */
  read(bytes: Buffer): void {
    try {
      if (this.current) this.current.data(bytes);
      else this.socket.destroy(); // bytes nobody asked for: out of step
    } catch (err) {
      // Node does not catch what an onread callback throws: fail the request, not the process.
      this.current?.error(err as Error);
      this.socket.destroy();
    }
  }

  /** Sends one request and reads its answer; then the connection goes back to the pool, or is closed. */
  exchange(head: string, body: string, signal: AbortLike): Promise<Http1Response> {
    const parser = new Http1ResponseParser();
    const reused = this.reused;
    return new Promise<Http1Response>((resolve, reject) => {
      // Aborted after acquire but before this (the caller's same tick, or while a freed connection was
      // handed over): the abort event has fired already and would never reach the listener below.
      if (signal.aborted) {
        this.socket.destroy();
        return reject(abortError());
      }
      const settle = (response: Http1Response | undefined, err?: Error): void => {
        if (!this.current) return;
        this.current = undefined;
        signal.removeEventListener('abort', onAbort);
        if (response) {
          this.reused = true;
          if (response.keepAlive) this.pool.release(this);
          else this.socket.destroy();
          resolve(response);
        } else {
          this.socket.destroy();
          reject(!parser.started && reused && !signal.aborted ? new StaleConnection() : (err ?? connectionClosed()));
        }
      };
      const onAbort = (): void => settle(undefined, abortError());
      this.current = {
        data: (chunk) => {
          let response: Http1Response | undefined;
          try {
            response = parser.push(chunk);
          } catch (err) {
            return settle(undefined, err as Error);
          }
          if (response) settle(response);
        },
        end: () => {
          try {
            settle(parser.end());
          } catch (err) {
            settle(undefined, parser.started ? (err as Error) : connectionClosed());
          }
        },
        error: (err) => settle(undefined, err),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.socket.write(head + body);
    });
  }
}

/** Where every connection's reads land (see `Pool.connect`); the size caps one read. */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

class Pool {
  private readonly idle: Connection[] = [];
  private readonly waiters: ((connection: Connection | Error | undefined) => void)[] = [];
  private open = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private shut = false;

  constructor(
    private readonly origin: URL,
    private readonly maxSockets: number,
    private readonly idleTimeoutMs: number,
  ) {}

  /** A connection for one request: the most recently idle, a new one, or the next one freed. */
  acquire(signal: AbortLike, fresh = false): Promise<Connection> {
    if (signal.aborted) return Promise.reject(abortError());
    if (this.shut) return Promise.reject(new Error('KeepAliveHttp1Client was destroyed')); // a stale retry after destroy()
    if (!fresh) {
      const connection = this.idle.pop();
      if (connection) {
        connection.socket.ref();
        return Promise.resolve(connection);
      }
    }
    // A retry connects at once: its stale connection is destroyed already (its slot is free, only its
    // 'close' is to come), and queued it could be handed a reused connection, stale in turn.
    if (fresh || this.open < this.maxSockets) return Promise.resolve(this.connect());
    return new Promise<Connection>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiters.indexOf(wake);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(abortError());
      };
      const wake = (connection: Connection | Error | undefined): void => {
        signal.removeEventListener('abort', onAbort);
        if (connection instanceof Error) reject(connection);
        else resolve(connection ?? this.connect());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(wake);
    });
  }

  /** Back from a request: to a waiter at once, else idle (not holding the process open). */
  release(connection: Connection): void {
    if (this.shut || connection.socket.destroyed || !connection.socket.writable) return void connection.socket.destroy();
    const waiter = this.waiters.shift();
    if (waiter) return waiter(connection);
    connection.socket.unref();
    connection.idleSince = performance.now();
    this.idle.push(connection);
  }

  closed(connection: Connection): void {
    this.open--;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    if (this.open === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
    if (!this.shut && this.open < this.maxSockets) this.waiters.shift()?.(undefined); // a slot is free: the next waiter connects
  }

  destroy(): void {
    this.shut = true;
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
    for (const wake of this.waiters.splice(0)) wake(new Error('KeepAliveHttp1Client was destroyed'));
  }

  private connect(): Connection {
    this.open++;
    const port = Number(this.origin.port) || (this.origin.protocol === 'https:' ? 443 : 80);
    const host = this.origin.hostname.replace(/^\[|\]$/g, '');
    // Reads land in one buffer shared by every connection (`onread`): no Buffer per read and no
    // stream machinery per chunk; the parser copies what it keeps before the callback returns.
    let connection: Connection | undefined;
    const onread: OnReadOpts = {
      buffer: READ_BUFFER,
      callback: (length, buffer) => {
        connection?.read(Buffer.from(buffer.buffer, buffer.byteOffset, length));
        return true;
      },
    };
    // node:tls takes `onread` too (for the decrypted bytes), though its types do not say so.
    const socket =
      this.origin.protocol === 'https:'
        ? tlsConnect({ host, port, ALPNProtocols: ['http/1.1'], onread, ...(isIP(host) ? {} : { servername: host }) } as ConnectionOptions)
        : netConnect({ host, port, onread });
    socket.resume(); // flowing, so that the end of the stream is still reported ('end')
    // One timer per pool, not one per request: closes connections idle for longer than the timeout.
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(1000, this.idleTimeoutMs / 3)).unref();
    return (connection = new Connection(socket, this));
  }

  private sweep(): void {
    const cutoff = performance.now() - this.idleTimeoutMs;
    // The pool is LIFO: the longest idle are at the bottom.
    while (this.idle.length > 0 && this.idle[0]!.idleSince < cutoff) this.idle.shift()!.socket.destroy();
  }
}

function requestHead(request: Http1Request): string {
  let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
  for (const name in request.headers) {
    const value = request.headers[name]!;
    if (LINE_BREAK.test(value) || LINE_BREAK.test(name)) throw new Error(`HTTP header ${JSON.stringify(name)} holds a line break`);
    head += `${name}: ${value}\r\n`;
  }
  return head + '\r\n';
}
const LINE_BREAK = /[\r\n]/;

/** As the SDK's HTTP handler rejects an aborted request. */
export function abortError(): Error {
  const err = new Error('Request aborted');
  err.name = 'AbortError';
  return err;
}

function connectionClosed(): Error {
  const err = new Error('socket hang up') as Error & { code: string };
  err.code = 'ECONNRESET';
  return err;
}
