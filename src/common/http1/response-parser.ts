/** A whole HTTP/1.1 response: header names in lower case (repeated headers joined with ", "). */
export interface Http1Response {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
  /** Whether the connection may carry the next request. */
  keepAlive: boolean;
}

/** The answer could not be read as HTTP/1.1: the connection is unusable (the caller retries on a fresh one). */
export class Http1ParseError extends Error {
  readonly code = 'ECONNRESET'; // retried as a dropped connection is
  constructor(message: string) {
    super(`Malformed HTTP response: ${message}`);
    this.name = 'Http1ParseError';
  }
}

const MAX_HEAD_BYTES = 64 * 1024;
/** A Content-Length above this is not trusted to allocate up front (a GetRecords page is at most ~14 MB). */
const MAX_PREALLOCATED_BODY = 32 * 1024 * 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'until-close' | 'done';

/**
 * Reads one response from a connection's bytes as they arrive (`push`), for the lean paths' own
 * keep-alive client: status, headers, and a body framed by Content-Length, chunked encoding or the
 * connection's close. Interim (1xx) answers are skipped. A body whose length is known is copied into
 * one buffer of that length as it arrives, so a page in flight holds its size and no more; any other
 * body is kept as copies of the chunks that came, joined once.
 */
export class Http1ResponseParser {
  private state: State = 'head';
  private pending: Buffer | undefined; // bytes of a head, chunk-size line or trailer not yet complete
  private status = 0;
  private headers = new Map<string, string>();
  private keepAlive = true;
  private remaining = 0;
  private readonly body: Buffer[] = [];
  private bodyBytes = 0;
  private whole: Buffer | undefined; // the body, when its length is known
  private length = -1; // Content-Length, when given
  private answered = false; // any byte came, an interim 1xx included

  /**
   * Feeds bytes, which need to stay valid only during the call (a connection's read buffer is reused);
   * returns the response once it is complete (later bytes are an error: nothing is pipelined).
   */
  push(chunk: Buffer): Http1Response | undefined {
    if (chunk.length > 0) this.answered = true;
    let data: Buffer = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (data.length > 0) {
      if (this.state === 'done') throw new Http1ParseError('bytes after the end of the response');
      data = this.step(data);
    }
    return this.state === 'done' ? this.result() : undefined;
  }

  /** The connection closed: the response if its body ran to the close, else an error. */
  end(): Http1Response {
    if (this.state === 'until-close') {
      this.state = 'done';
      return this.result();
    }
    if (this.state === 'done') return this.result();
    throw new Http1ParseError(this.answered ? 'the connection closed mid-answer' : 'the connection closed before any answer');
  }

  /**
   * Whether any byte of an answer has arrived (a reused connection closed before that may be retried at
   * once). An interim 100 Continue counts: the server has the request, so resending it could repeat it.
   */
  get started(): boolean {
    return this.answered;
  }

  private step(data: Buffer): Buffer {
    switch (this.state) {
      case 'head':
        return this.readHead(data);
      case 'length':
      case 'chunk-data':
      case 'until-close': {
        const n = this.state === 'until-close' ? data.length : Math.min(this.remaining, data.length);
        this.keep(data.subarray(0, n));
        this.remaining -= n;
        if (this.state === 'length' && this.remaining === 0) this.state = 'done';
        if (this.state === 'chunk-data' && this.remaining === 0) this.state = 'chunk-end';
        return data.subarray(n);
      }
      case 'chunk-size':
        return this.line(data, (line) => {
          const hex = line.split(';', 1)[0]!.trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new Http1ParseError(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
          const size = Number.parseInt(hex, 16);
          this.remaining = size;
          this.state = size === 0 ? 'trailers' : 'chunk-data';
        });
      case 'chunk-end':
        return this.line(data, (line) => {
          if (line !== '') throw new Http1ParseError('chunk not followed by CRLF');
          this.state = 'chunk-size';
        });
      case 'trailers':
        return this.line(data, (line) => {
          if (line === '') this.state = 'done';
        });
      case 'done':
        return data;
    }
  }

  private readHead(data: Buffer): Buffer {
    const end = data.indexOf(HEAD_END);
    // Checked on a found end too: a big head in one push (or completed by one) is no smaller.
    if ((end < 0 ? data.length : end) > MAX_HEAD_BYTES) throw new Http1ParseError(`header section over ${MAX_HEAD_BYTES} bytes`);
    if (end < 0) {
      this.pending = Buffer.from(data); // a copy: the chunk's memory is reused
      return data.subarray(data.length);
    }
    const lines = data.toString('latin1', 0, end).split('\r\n');
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!);
    if (!statusLine) throw new Http1ParseError(`bad status line ${JSON.stringify(lines[0]!.slice(0, 40))}`);
    const status = Number(statusLine[2]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Http1ParseError(`bad header line ${JSON.stringify(line.slice(0, 40))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const before = headers.get(name);
      headers.set(name, before === undefined ? value : `${before}, ${value}`);
    }
    const rest = data.subarray(end + HEAD_END.length);
    if (status >= 100 && status < 200) return rest; // interim answer: the real one follows
    this.status = status;
    this.headers = headers;
    const connection = headers.get('connection')?.toLowerCase() ?? '';
    this.keepAlive = statusLine[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    const length = headers.get('content-length');
    if (status === 204 || status === 304) this.state = 'done';
    else if (headers.get('transfer-encoding')?.toLowerCase().includes('chunked')) this.state = 'chunk-size';
    else if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw new Http1ParseError(`bad content-length ${JSON.stringify(length.slice(0, 40))}`);
      this.remaining = this.length = Number(length);
      this.state = this.remaining === 0 ? 'done' : 'length';
    } else {
      this.state = 'until-close';
      this.keepAlive = false;
    }
    return rest;
  }

  /** Runs `onLine` on the next CRLF-ended line, or keeps the partial line for the next push. */
  private line(data: Buffer, onLine: (line: string) => void): Buffer {
    const end = data.indexOf(CRLF);
    if (end < 0) {
      if (data.length > MAX_HEAD_BYTES) throw new Http1ParseError('line over 64 KiB');
      this.pending = Buffer.from(data); // a copy: the chunk's memory is reused
      return data.subarray(data.length);
    }
    onLine(data.toString('latin1', 0, end));
    return data.subarray(end + CRLF.length);
  }

  /** Copies body bytes out of the chunk (its memory is reused): into one buffer when the length is known. */
  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.length >= 0 && this.length <= MAX_PREALLOCATED_BODY) {
      this.whole ??= Buffer.allocUnsafe(this.length);
      bytes.copy(this.whole, this.bodyBytes);
    } else this.body.push(Buffer.from(bytes));
    this.bodyBytes += bytes.length;
  }

  private result(): Http1Response {
    const body = this.whole ?? (this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body, this.bodyBytes));
    return { status: this.status, headers: this.headers, body, keepAlive: this.keepAlive };
  }
}
