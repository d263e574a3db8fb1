import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Http1ParseError, Http1ResponseParser, type Http1Response } from '../../src/common/http1/response-parser.ts';
import { KeepAliveHttp1Client } from '../../src/common/http1/keep-alive-client.ts';
import type { AbortLike } from '../../src/common/deadline.ts';

// ---- helpers ---------------------------------------------------------------------------------

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** A response as plain data, to compare whole results with deepEqual. */
const plain = (r: Http1Response | undefined) => r && { status: r.status, headers: Object.fromEntries(r.headers), body: r.body.toString('latin1'), keepAlive: r.keepAlive };

/** A 200 answer with a Content-Length body (extra header lines before the blank line). */
const answer = (body = 'ok', ...extra: string[]): string => ['HTTP/1.1 200 OK', `Content-Length: ${Buffer.byteLength(body)}`, ...extra, '', body].join('\r\n');

/** Feeds `raw` one byte at a time: no earlier push may claim the response complete. */
function parseBytewise(raw: string): Http1Response | undefined {
  const parser = new Http1ResponseParser();
  const bytes = latin1(raw);
  let response: Http1Response | undefined;
  for (let i = 0; i < bytes.length; i++) {
    assert.equal(response, undefined, `complete before byte ${i}`);
    response = parser.push(bytes.subarray(i, i + 1));
  }
  return response;
}

const parseError = (pattern: RegExp) => (err: unknown) => err instanceof Http1ParseError && err.code === 'ECONNRESET' && pattern.test(err.message);

/** Polls until `condition` holds; fails after `ms` (a bound, not a synchronisation by sleeping). */
async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `promise`, or a failure if it has not settled within `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A signal that is never aborted. */
const never = (): AbortLike => new AbortController().signal;

function clientFor(t: TestContext, options: { maxSockets?: number; idleTimeoutMs?: number } = {}): KeepAliveHttp1Client {
  const client = new KeepAliveHttp1Client(options);
  t.after(() => client.destroy());
  return client;
}

interface Send {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
function send(client: KeepAliveHttp1Client, origin: URL, { method = 'POST', path = '/', headers = {}, body = '' }: Send = {}, signal = never()): Promise<Http1Response> {
  return client.request({ origin, method, path, headers: { host: origin.host, 'content-length': String(Buffer.byteLength(body)), ...headers }, body }, signal);
}

async function listen(server: Server): Promise<URL> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

interface Received {
  connection: number; // accept order on the server
  index: number; // request number on that connection
  head: string;
  body: Buffer;
}

/** A TCP server scripted byte by byte: `onRequest` sees each whole request and writes what it likes. */
async function scriptedServer(t: TestContext, onRequest: (socket: Socket, request: Received) => void = () => {}) {
  const connections: Socket[] = [];
  const closed = new Set<number>();
  const requests: Received[] = [];
  const server = createNetServer((socket) => {
    const connection = connections.push(socket) - 1;
    let buffered = Buffer.alloc(0);
    let index = 0;
    socket.on('error', () => {}); // a client's reset is part of some scripts
    socket.on('close', () => closed.add(connection));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const request = { connection, index: index++, head, body: buffered.subarray(end + 4, end + 4 + length) };
        buffered = buffered.subarray(end + 4 + length);
        requests.push(request);
        onRequest(socket, request);
      }
    });
  });
  const origin = await listen(server);
  t.after(async () => {
    for (const socket of connections) socket.destroy();
    server.close();
    await once(server, 'close');
  });
  return { origin, connections, closed, requests };
}

/** A node:http server (node:https with `tls`); `handler` gets the whole request body. Counts accepted connections. */
async function httpServer(t: TestContext, handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void, tls?: { key: string; cert: string }) {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  };
  const server = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  const stats = { connections: 0, open: 0, maxOpen: 0 };
  server.on('connection', (socket: Socket) => {
    stats.connections++;
    stats.maxOpen = Math.max(stats.maxOpen, ++stats.open);
    socket.on('close', () => stats.open--);
  });
  const origin = await listen(server);
  if (tls) origin.protocol = 'https:';
  t.after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return { origin, stats };
}

// ---- parser ----------------------------------------------------------------------------------

describe('Http1ResponseParser', () => {
  const samples: Record<string, string> = {
    'content-length': answer('hello world', 'X-A: 1', 'Connection: keep-alive'),
    'chunked with extensions and trailers': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\nA ; a=b;c\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n',
    '100-continue then 200': 'HTTP/1.1 100 Continue\r\n\r\n' + answer('after interim'),
  };
  for (const [name, raw] of Object.entries(samples)) {
    it(`a ${name} response fed a byte at a time, or split at any one boundary, parses as one push does`, () => {
      const whole = plain(new Http1ResponseParser().push(latin1(raw)));
      assert.ok(whole);
      assert.deepEqual(plain(parseBytewise(raw)), whole);
      for (let at = 1; at < raw.length; at++) {
        const parser = new Http1ResponseParser();
        assert.equal(parser.push(latin1(raw.slice(0, at))), undefined, `complete after ${at} bytes`);
        assert.deepEqual(plain(parser.push(latin1(raw.slice(at)))), whole, `split at ${at}`);
      }
    });
  }

  it('bytes pushed from one reused read buffer (as the client reads) are copied: each response is whole, split anywhere', () => {
    const raws = [...Object.values(samples), 'HTTP/1.1 200 OK\r\n\r\nuntil the close'];
    for (const raw of raws) {
      const whole = plain(new Http1ResponseParser().push(latin1(raw)));
      for (let at = 1; at < raw.length; at += 3) {
        const shared = Buffer.alloc(raw.length);
        const parser = new Http1ResponseParser();
        let response: Http1Response | undefined;
        for (const piece of [raw.slice(0, at), raw.slice(at)]) {
          const length = shared.write(piece, 'latin1');
          response = parser.push(shared.subarray(0, length));
          shared.fill('#'); // the next read lands here
        }
        response ??= parser.end();
        const expected = raw.endsWith('until the close') ? { status: 200, headers: {}, body: 'until the close', keepAlive: false } : whole;
        assert.deepEqual(plain(response), expected, `split at ${at}`);
      }
    }
  });

  it('a chunked body is the chunks joined: extensions skipped, hex sizes read, trailers not body', () => {
    const r = new Http1ResponseParser().push(latin1(samples['chunked with extensions and trailers']!));
    assert.equal(r?.body.toString(), 'hello, world!!!');
    assert.equal(r?.headers.get('x-trailer'), undefined);
    assert.equal(r?.keepAlive, true);
  });

  it('Content-Length: 0 completes at the end of the head with an empty body', () => {
    assert.deepEqual(plain(new Http1ResponseParser().push(latin1('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))), {
      status: 200,
      headers: { 'content-length': '0' },
      body: '',
      keepAlive: true,
    });
  });

  it('204 and 304 complete at the end of the head: no body is read even without a length', () => {
    for (const status of [204, 304]) {
      const parser = new Http1ResponseParser();
      const r = parser.push(latin1(`HTTP/1.1 ${status} X\r\nETag: e\r\n\r\n`));
      assert.equal(r?.status, status);
      assert.equal(r?.body.length, 0);
      assert.equal(r?.keepAlive, true);
    }
  });

  it('interim 1xx answers are skipped: status, headers and body are the final answer’s', () => {
    const r = new Http1ResponseParser().push(latin1('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' + answer('done')));
    assert.deepEqual(plain(r), { status: 200, headers: { 'content-length': '4' }, body: 'done', keepAlive: true });
  });

  it('a body without length or chunking runs to the close: end() returns it, not reusable', () => {
    const parser = new Http1ResponseParser();
    assert.equal(parser.push(latin1('HTTP/1.1 200 OK\r\nX: y\r\n\r\nabc')), undefined);
    assert.equal(parser.push(latin1('def')), undefined);
    assert.deepEqual(plain(parser.end()), { status: 200, headers: { x: 'y' }, body: 'abcdef', keepAlive: false });
  });

  it('keepAlive: false on Connection: close and on plain HTTP/1.0; true on HTTP/1.0 with keep-alive', () => {
    const keepAlive = (head: string) => new Http1ResponseParser().push(latin1(`${head}\r\nContent-Length: 0\r\n\r\n`))?.keepAlive;
    assert.equal(keepAlive('HTTP/1.1 200 OK'), true);
    assert.equal(keepAlive('HTTP/1.1 200 OK\r\nConnection: close'), false);
    assert.equal(keepAlive('HTTP/1.1 200 OK\r\nConnection: Close'), false);
    assert.equal(keepAlive('HTTP/1.0 200 OK'), false);
    assert.equal(keepAlive('HTTP/1.0 200 OK\r\nConnection: Keep-Alive'), true);
  });

  it('header names are lower-cased, values trimmed, repeated headers joined with ", "', () => {
    const r = new Http1ResponseParser().push(latin1('HTTP/1.1 200 OK\r\nX-Multi:  a \r\nContent-Length: 0\r\nx-multi: b\r\nX-MULTI:c\r\n\r\n'));
    assert.equal(r?.headers.get('x-multi'), 'a, b, c');
    assert.equal(r?.headers.get('content-length'), '0');
  });

  it('a status line without a reason phrase is accepted', () => {
    assert.equal(new Http1ResponseParser().push(latin1('HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n'))?.status, 503);
  });

  it('malformed status lines throw Http1ParseError (ECONNRESET)', () => {
    for (const line of ['HTTP/2 200 OK', 'ICY 200 OK', 'HTTP/1.1 20 OK', 'HTTP/1.1 2000 OK', 'garbage']) {
      assert.throws(() => new Http1ResponseParser().push(latin1(`${line}\r\nContent-Length: 0\r\n\r\n`)), parseError(/bad status line/), line);
    }
  });

  it('a header line without a name throws', () => {
    assert.throws(() => new Http1ResponseParser().push(latin1('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n')), parseError(/bad header line/));
  });

  it('bad chunk sizes throw', () => {
    for (const size of ['zz', '', '-1', '0x5', '1234567890abc']) {
      const raw = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n`;
      assert.throws(() => new Http1ResponseParser().push(latin1(raw)), parseError(/bad chunk size/), JSON.stringify(size));
    }
  });

  it('chunk data not followed by CRLF throws', () => {
    assert.throws(() => new Http1ResponseParser().push(latin1('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n')), parseError(/not followed by CRLF/));
  });

  it('bad Content-Length values throw', () => {
    for (const length of ['abc', '-1', '1.5', '1, 2', '']) {
      const raw = `HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\n\r\n`;
      assert.throws(() => new Http1ResponseParser().push(latin1(raw)), parseError(/bad content-length/), JSON.stringify(length));
    }
  });

  it('a head over 64 KiB throws, whether it comes unfinished, in one push or in pieces', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(65 * 1024)}\r\nContent-Length: 0\r\n\r\n`;
    assert.throws(() => new Http1ResponseParser().push(latin1(big.slice(0, 66 * 1024))), parseError(/header section over/));
    assert.throws(() => new Http1ResponseParser().push(latin1(big)), parseError(/header section over/));
    const pieces = new Http1ResponseParser();
    assert.equal(pieces.push(latin1(big.slice(0, 40 * 1024))), undefined);
    assert.throws(() => pieces.push(latin1(big.slice(40 * 1024))), parseError(/header section over/));
    // Just under the limit is fine.
    const fits = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(60 * 1024)}\r\nContent-Length: 0\r\n\r\n`;
    assert.equal(new Http1ResponseParser().push(latin1(fits))?.status, 200);
  });

  it('bytes after the end of the response throw, in the same push or a later one', () => {
    assert.throws(() => new Http1ResponseParser().push(latin1(answer('ab') + 'X')), parseError(/after the end/));
    const parser = new Http1ResponseParser();
    assert.equal(parser.push(latin1(answer('ab')))?.body.toString(), 'ab');
    assert.throws(() => parser.push(latin1('HTTP/1.1 200 OK\r\n')), parseError(/after the end/));
    const noBody = new Http1ResponseParser();
    assert.ok(noBody.push(latin1('HTTP/1.1 204 No Content\r\n\r\n')));
    assert.throws(() => noBody.push(latin1('x')), parseError(/after the end/));
  });

  it('end() before the answer is complete throws: before any byte, mid-head, mid-body, mid-chunk', () => {
    assert.throws(() => new Http1ResponseParser().end(), parseError(/before any answer/));
    for (const partial of ['HTTP/1.1 200 OK\r\nContent-', answer('abcdef').slice(0, -2), 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab']) {
      const parser = new Http1ResponseParser();
      assert.equal(parser.push(latin1(partial)), undefined);
      assert.throws(() => parser.end(), parseError(/mid-answer/), JSON.stringify(partial));
    }
  });

  it('started is false until a byte of the answer arrives, an interim 100 Continue included', () => {
    const parser = new Http1ResponseParser();
    assert.equal(parser.started, false);
    parser.push(latin1('H'));
    assert.equal(parser.started, true);
    const interim = new Http1ResponseParser();
    interim.push(latin1('HTTP/1.1 100 Continue\r\n\r\n'));
    assert.equal(interim.started, true, 'the server has answered: the request must not be resent');
  });
});

// ---- client against node:http ----------------------------------------------------------------

describe('KeepAliveHttp1Client against node:http', () => {
  it('sequential requests share one kept-alive connection; Content-Length and chunked answers both read whole', async (t) => {
    const srv = await httpServer(t, (req, body, res) => {
      if (req.url === '/chunked') {
        res.write('hel'); // no length given: node:http sends it chunked
        res.end('lo');
      } else if (req.url === '/large') {
        res.setHeader('content-length', 1 << 20);
        res.end(Buffer.alloc(1 << 20, 'x'));
      } else res.end(body);
    });
    const client = clientFor(t);
    for (let i = 0; i < 5; i++) assert.equal((await send(client, srv.origin, { body: `n${i}` })).body.toString(), `n${i}`);
    assert.equal((await send(client, srv.origin, { path: '/chunked' })).body.toString(), 'hello');
    const large = await send(client, srv.origin, { path: '/large' });
    assert.equal(large.body.length, 1 << 20);
    assert.ok(large.body.every((b) => b === 0x78));
    assert.equal(srv.stats.connections, 1);
  });

  it('the request reaches the server as sent: method, path and query, headers, body', async (t) => {
    let seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string } | undefined;
    const srv = await httpServer(t, (req, body, res) => {
      seen = { method: req.method!, url: req.url!, headers: req.headers, body: body.toString('utf8') };
      res.writeHead(201, { 'X-Answer': 'yes' }).end('{}');
    });
    const body = JSON.stringify({ StreamName: 'ström', Limit: 10 });
    const r = await send(clientFor(t), srv.origin, {
      method: 'PUT',
      path: '/a/b?x=1&y=%20z',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'Kinesis_20131202.GetRecords' },
      body,
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('x-answer'), 'yes');
    assert.equal(r.body.toString(), '{}');
    assert.equal(seen?.method, 'PUT');
    assert.equal(seen?.url, '/a/b?x=1&y=%20z');
    assert.equal(seen?.headers['host'], srv.origin.host);
    assert.equal(seen?.headers['content-type'], 'application/x-amz-json-1.1');
    assert.equal(seen?.headers['x-amz-target'], 'Kinesis_20131202.GetRecords');
    assert.equal(seen?.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(seen?.body, body);
  });

  it('requests above maxSockets wait for a connection: never more than maxSockets open, all answered in order', async (t) => {
    const held: (() => void)[] = [];
    let holding = true;
    let inFlight = 0;
    let maxInFlight = 0;
    const srv = await httpServer(t, (_req, body, res) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      const reply = () => {
        inFlight--;
        res.end(body);
      };
      if (holding) held.push(reply);
      else reply();
    });
    const client = clientFor(t, { maxSockets: 2 });
    const all = Promise.all(Array.from({ length: 7 }, (_, i) => send(client, srv.origin, { body: `r${i}` })));
    await until(() => held.length === 2, 'two answers held');
    holding = false;
    for (const reply of held) reply();
    const responses = await within(5000, 'all requests', all);
    assert.deepEqual(
      responses.map((r) => r.body.toString()),
      Array.from({ length: 7 }, (_, i) => `r${i}`),
    );
    assert.equal(srv.stats.connections, 2);
    assert.ok(srv.stats.maxOpen <= 2, `max open ${srv.stats.maxOpen}`);
    assert.ok(maxInFlight <= 2, `max in flight ${maxInFlight}`);
  });
});

// ---- client against scripted TCP servers ----------------------------------------------------

describe('KeepAliveHttp1Client on the wire', () => {
  it('one request is the head then the body, bytes exactly as given', async (t) => {
    const srv = await scriptedServer(t, (socket) => socket.write(answer()));
    await send(clientFor(t), srv.origin, { method: 'POST', path: '/p?q=1', headers: { 'X-Amz-Date': '20240101T000000Z' }, body: 'ü' });
    const raw = Buffer.concat([latin1(srv.requests[0]!.head + '\r\n\r\n'), srv.requests[0]!.body]);
    assert.deepEqual(raw, Buffer.from(`POST /p?q=1 HTTP/1.1\r\nhost: ${srv.origin.host}\r\ncontent-length: 2\r\nX-Amz-Date: 20240101T000000Z\r\n\r\nü`, 'utf8'));
  });

  it('a header name or value holding CR or LF is refused and nothing is sent', async (t) => {
    const srv = await scriptedServer(t, (socket) => socket.write(answer()));
    const client = clientFor(t);
    await assert.rejects(send(client, srv.origin, { headers: { 'x-a': 'v\r\nx-injected: 1' } }), /line break/);
    await assert.rejects(send(client, srv.origin, { headers: { 'x-a\nx-b': 'v' } }), /line break/);
    await send(client, srv.origin);
    assert.equal(srv.connections.length, 1);
    assert.equal(srv.requests.length, 1);
    assert.doesNotMatch(srv.requests[0]!.head, /injected/);
  });

  it('an answer split across many writes is read whole', async (t) => {
    const raw = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n';
    const srv = await scriptedServer(t, (socket) => {
      const pieces = raw.match(/[^]{1,3}/g)!;
      const next = (): void => void (pieces.length > 0 && socket.write(pieces.shift()!, next));
      next();
    });
    const client = clientFor(t);
    assert.equal((await send(client, srv.origin)).body.toString(), 'abcdefg');
    assert.equal((await send(client, srv.origin)).body.toString(), 'abcdefg');
    assert.equal(srv.connections.length, 1);
  });

  it('a body framed by the close is returned, and the next request opens a new connection', async (t) => {
    const srv = await scriptedServer(t, (socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close'));
    const client = clientFor(t);
    const r = await send(client, srv.origin);
    assert.equal(r.body.toString(), 'until close');
    assert.equal(r.keepAlive, false);
    await send(client, srv.origin);
    assert.equal(srv.connections.length, 2);
  });

  it('bytes after the end of an answer reject the request and close the connection', async (t) => {
    const srv = await scriptedServer(t, (socket) => socket.write(answer('ab') + 'HTTP/1.1 200 OK\r\n'));
    await assert.rejects(send(clientFor(t), srv.origin), parseError(/after the end/));
    await until(() => srv.closed.has(0), 'the connection closed');
  });

  describe('stale keep-alive connections', () => {
    it('a connection the server closed after its answer is not reused: the next request succeeds on a new one', async (t) => {
      const srv = await scriptedServer(t, (socket) => socket.end(answer()));
      const client = clientFor(t);
      await send(client, srv.origin);
      const r = await send(client, srv.origin);
      assert.equal(r.status, 200);
      assert.equal(srv.connections.length, 2);
    });

    it('a reused connection dropped when the next request arrives, before any answer, is retried once on a new connection', async (t) => {
      const srv = await scriptedServer(t, (socket, req) => (req.connection === 0 && req.index === 1 ? socket.destroy() : socket.write(answer(`c${req.connection}`))));
      const client = clientFor(t);
      assert.equal((await send(client, srv.origin)).body.toString(), 'c0');
      assert.equal((await send(client, srv.origin)).body.toString(), 'c1');
      assert.equal(srv.connections.length, 2);
      assert.deepEqual(
        srv.requests.map((r) => [r.connection, r.index]),
        [[0, 0], [0, 1], [1, 0]],
      );
    });

    it('a write (retryStale: false) on a reused connection dropped before any answer rejects with ECONNRESET and is not sent again', async (t) => {
      const srv = await scriptedServer(t, (socket, req) => (req.connection === 0 && req.index === 1 ? socket.destroy() : socket.write(answer(`c${req.connection}`))));
      const client = clientFor(t);
      await send(client, srv.origin);
      const write = client.request({ origin: srv.origin, method: 'POST', path: '/', headers: { host: srv.origin.host, 'content-length': '0' }, body: '', retryStale: false }, never());
      await assert.rejects(within(5000, 'the write', write), { code: 'ECONNRESET' });
      assert.equal(srv.requests.length, 2, 'the server may have acted on it: the caller decides, not the client');
    });

    it('a fresh connection closed without answering rejects with ECONNRESET and is not retried', async (t) => {
      const srv = await scriptedServer(t, (socket) => socket.destroy());
      await assert.rejects(within(5000, 'the request', send(clientFor(t), srv.origin)), { code: 'ECONNRESET' });
      assert.equal(srv.connections.length, 1);
    });

    it('a dropped reused connection whose retry is dropped too rejects after exactly one retry', async (t) => {
      const srv = await scriptedServer(t, (socket, req) => (req.connection === 0 && req.index === 0 ? socket.write(answer()) : socket.destroy()));
      const client = clientFor(t);
      await send(client, srv.origin);
      await assert.rejects(within(5000, 'the second request', send(client, srv.origin)), { code: 'ECONNRESET' });
      assert.equal(srv.connections.length, 2);
      assert.equal(srv.requests.length, 3);
    });

    it('the retry runs on a fresh connection even at maxSockets with others queued, never on a reused one', async (t) => {
      const held: Socket[] = [];
      // '/x' is dropped on any reused connection (stale), answered on a fresh one; '/hold' waits.
      const srv = await scriptedServer(t, (socket, req) => {
        const path = req.head.split(' ')[1];
        if (path === '/hold') held.push(socket);
        else if (path === '/x' && req.index > 0) socket.destroy();
        else socket.write(answer(path));
      });
      const client = clientFor(t, { maxSockets: 2 });
      await Promise.all([send(client, srv.origin, { path: '/warm' }), send(client, srv.origin, { path: '/warm' })]);
      const hold = send(client, srv.origin, { path: '/hold' }); // one idle connection busy
      await until(() => held.length === 1, 'the held request');
      const x = send(client, srv.origin, { path: '/x' }); // the other idle connection: stale
      const z = send(client, srv.origin, { path: '/z' }); // queued: both connections in use
      assert.equal((await within(5000, '/x', x)).body.toString(), '/x');
      held[0]!.write(answer('/hold'));
      assert.equal((await hold).body.toString(), '/hold');
      assert.equal((await within(5000, '/z', z)).body.toString(), '/z');
      const xs = srv.requests.filter((r) => r.head.startsWith('POST /x '));
      assert.deepEqual(
        xs.map((r) => r.index),
        [1, 0],
        'sent once stale, retried once fresh',
      );
      // Two warm connections and the retry's: '/z' waited for one rather than open a fourth.
      assert.equal(srv.connections.length, 3);
    });

    it('a reused connection closed mid-answer rejects with a parse error and is not retried', async (t) => {
      const srv = await scriptedServer(t, (socket, req) => (req.index === 0 ? socket.write(answer()) : socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')));
      const client = clientFor(t);
      await send(client, srv.origin);
      await assert.rejects(send(client, srv.origin), parseError(/mid-answer/));
      assert.equal(srv.connections.length, 1);
    });

    it('a reused connection closed after a 100 Continue is not retried: the server has the request', async (t) => {
      const srv = await scriptedServer(t, (socket, req) => (req.index === 0 ? socket.write(answer()) : socket.end('HTTP/1.1 100 Continue\r\n\r\n')));
      const client = clientFor(t);
      await send(client, srv.origin);
      await assert.rejects(send(client, srv.origin), { code: 'ECONNRESET' });
      assert.equal(srv.connections.length, 1);
      assert.equal(srv.requests.length, 2);
    });
  });

  describe('abort', () => {
    const aborted = { name: 'AbortError', message: 'Request aborted' };

    it('while waiting for the answer: rejects at once with AbortError and the server sees the socket closed', async (t) => {
      const srv = await scriptedServer(t); // never answers
      const ac = new AbortController();
      const pending = send(clientFor(t), srv.origin, {}, ac.signal);
      await until(() => srv.requests.length === 1, 'the request at the server');
      ac.abort();
      await assert.rejects(within(1000, 'the aborted request', pending), aborted);
      await until(() => srv.closed.has(0), 'the server to see the close');
    });

    it('in the same tick as the request: rejects with AbortError, the request is never sent', async (t) => {
      const srv = await scriptedServer(t, (socket) => socket.write(answer()));
      const client = clientFor(t);
      const ac = new AbortController();
      const pending = send(client, srv.origin, { path: '/aborted' }, ac.signal);
      ac.abort();
      await assert.rejects(within(1000, 'the aborted request', pending), aborted);
      await send(client, srv.origin, { path: '/after' });
      assert.deepEqual(
        srv.requests.map((r) => r.head.split(' ')[1]),
        ['/after'],
      );
    });

    it('while queued behind maxSockets: rejects at once, never sent, and the slot stays usable', async (t) => {
      const held: Socket[] = [];
      const srv = await scriptedServer(t, (socket, req) => (req.index === 0 ? held.push(socket) : socket.write(answer('next'))));
      const client = clientFor(t, { maxSockets: 1 });
      const first = send(client, srv.origin, { path: '/first' });
      await until(() => held.length === 1, 'the first request held');
      const ac = new AbortController();
      const queued = send(client, srv.origin, { path: '/queued' }, ac.signal);
      ac.abort();
      await assert.rejects(within(1000, 'the queued request', queued), aborted);
      held[0]!.write(answer('first'));
      assert.equal((await first).body.toString(), 'first');
      assert.equal((await within(5000, 'the next request', send(client, srv.origin, { path: '/third' }))).body.toString(), 'next');
      assert.equal(srv.connections.length, 1);
      assert.deepEqual(
        srv.requests.map((r) => r.head.split(' ')[1]),
        ['/first', '/third'],
      );
    });

    it('an already-aborted signal rejects without connecting', async (t) => {
      const srv = await scriptedServer(t, (socket) => socket.write(answer()));
      const client = clientFor(t);
      await assert.rejects(send(client, srv.origin, {}, AbortSignal.abort()), aborted);
      await send(client, srv.origin);
      assert.equal(srv.connections.length, 1);
      assert.equal(srv.requests.length, 1);
    });
  });

  describe('connection lifecycle', () => {
    it('an answer with Connection: close is honoured: the client closes it, the next request uses a new connection', async (t) => {
      const srv = await scriptedServer(t, (socket) => socket.write(answer('ok', 'Connection: close'))); // the server leaves it open
      const client = clientFor(t);
      assert.equal((await send(client, srv.origin)).keepAlive, false);
      await until(() => srv.closed.has(0), 'the client to close the connection');
      await send(client, srv.origin);
      assert.equal(srv.connections.length, 2);
    });

    it('an idle connection that receives unsolicited bytes is closed and not reused', async (t) => {
      const srv = await scriptedServer(t, (socket) => socket.write(answer()));
      const client = clientFor(t);
      await send(client, srv.origin);
      srv.connections[0]!.write('HTTP/1.1 200 OK\r\n');
      await until(() => srv.closed.has(0), 'the client to close the out-of-step connection');
      assert.equal((await send(client, srv.origin)).status, 200);
      assert.equal(srv.connections.length, 2);
    });

    it('an idle connection is closed by the client after idleTimeoutMs, not before', async (t) => {
      const srv = await scriptedServer(t, (socket) => socket.write(answer()));
      const client = clientFor(t, { idleTimeoutMs: 300 });
      await send(client, srv.origin);
      const idleFrom = performance.now();
      await until(() => srv.closed.has(0), 'the idle sweep', 5000);
      assert.ok(performance.now() - idleFrom >= 290, 'closed before the idle timeout');
      await send(client, srv.origin);
      assert.equal(srv.connections.length, 2);
    });

    it('destroy() closes idle connections, and later requests reject', async (t) => {
      const srv = await scriptedServer(t, (socket) => socket.write(answer()));
      const client = clientFor(t);
      await send(client, srv.origin);
      client.destroy();
      await until(() => srv.closed.has(0), 'the server to see the close');
      await assert.rejects(send(client, srv.origin), /destroyed/);
      assert.equal(srv.connections.length, 1);
    });

    it('destroy() rejects a request queued for a connection; the one in flight still gets its answer', async (t) => {
      const held: Socket[] = [];
      const srv = await scriptedServer(t, (socket) => held.push(socket));
      const client = clientFor(t, { maxSockets: 1 });
      const first = send(client, srv.origin);
      await until(() => held.length === 1, 'the first request held');
      const queued = send(client, srv.origin);
      client.destroy();
      await assert.rejects(queued, /destroyed/);
      held[0]!.write(answer('first'));
      assert.equal((await first).body.toString(), 'first');
      await until(() => srv.closed.has(0), 'the connection closed after its answer');
      assert.equal(srv.requests.length, 1);
    });

    it('destroy() while a reused connection turns out stale: the request rejects, no new connection is opened', async (t) => {
      const srv = await scriptedServer(t, (socket, req) => (req.index === 0 ? socket.write(answer()) : socket.destroy()));
      const client = clientFor(t);
      await send(client, srv.origin);
      const pending = send(client, srv.origin); // takes the idle connection, then finds it stale
      client.destroy();
      await assert.rejects(within(5000, 'the request', pending), /destroyed/);
      assert.equal(srv.connections.length, 1);
    });

    it('a refused connection rejects with ECONNREFUSED', async (t) => {
      const server = createNetServer();
      const origin = await listen(server);
      server.close();
      await once(server, 'close');
      await assert.rejects(within(5000, 'the request', send(clientFor(t), origin)), { code: 'ECONNREFUSED' });
    });
  });
});

// A self-signed test certificate for 127.0.0.1 (EC P-256, valid until 2126), made for this file alone.
const TEST_TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAMYlqXcgycyo5izK
waJWaTyo9N6mXLov06hWJq267aKhRANCAAQNC05QeX/ka1Pgc4x9fefWVAwEJvr1
eaRZGQ2LnNTE5TQ8XLjeTykjBxOgXs5nVJ9w/QZcBrsNonlQ4mivRM+i
-----END PRIVATE KEY-----`;
const TEST_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBkTCCATagAwIBAgIUQK6c+yu1fWMBjLBuJPwB5wUYdPMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwMjE0NDExM1oYDzIxMjYxMTA4
MTQ0MTEzWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQNC05QeX/ka1Pgc4x9fefWVAwEJvr1eaRZGQ2LnNTE5TQ8XLjeTykj
BxOgXs5nVJ9w/QZcBrsNonlQ4mivRM+io2QwYjAdBgNVHQ4EFgQUTswm/HLIeyrd
joyebnnVIDGc/UYwHwYDVR0jBBgwFoAUTswm/HLIeyrdjoyebnnVIDGc/UYwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0kAMEYC
IQCzBQswMDKomInyC6Gg0rt/9ddPJuIg15ZPPYK0j6JSdAIhAPxSR1K0Gs7chJbe
kOKK7C/ywCQXpWVXxV0XY8XdPN5U
-----END CERTIFICATE-----`;

describe('KeepAliveHttp1Client over TLS (node:tls reads into the shared buffer too)', () => {
  it('Content-Length, chunked and close-framed answers come whole, the first two on one connection', async (t) => {
    // The test certificate is self-signed; the client checks certificates as Node does by default.
    const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    t.after(() => (before === undefined ? delete process.env.NODE_TLS_REJECT_UNAUTHORIZED : (process.env.NODE_TLS_REJECT_UNAUTHORIZED = before)));
    const large = Buffer.alloc(3 << 20);
    for (let i = 0; i < large.length; i++) large[i] = (i * 7) & 0xff;
    const srv = await httpServer(
      t,
      (req, _body, res) => {
        if (req.url === '/large') res.setHeader('content-length', large.length).end(large);
        else if (req.url === '/chunked') {
          res.write('hel');
          res.end('lo');
        } else res.setHeader('connection', 'close').end('until the close');
      },
      { key: TEST_TLS_KEY, cert: TEST_TLS_CERT },
    );
    const origin = srv.origin;
    const client = clientFor(t);
    for (let i = 0; i < 2; i++) assert.ok((await send(client, origin, { path: '/large' })).body.equals(large), `large body ${i}`);
    assert.equal((await send(client, origin, { path: '/chunked' })).body.toString(), 'hello');
    assert.equal(srv.stats.connections, 1);
    const closed = await send(client, origin, { path: '/close' });
    assert.equal(closed.body.toString(), 'until the close');
    assert.equal(closed.keepAlive, false);
  });
});
