import { createServer, request, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { once } from 'node:events';

/** How a picked call is answered: as AWS answers JSON 1.0/1.1 errors, or by dropping the connection. */
export type Fault = { status: number; type: string; message?: string; afterForwarding?: boolean } | { delayMs: number } | 'destroy' | 'hang';

interface Rule {
  target: string;
  fault: Fault;
  /** Let this many matching calls through first. */
  skip: number;
  /** Then fail this many. */
  times: number;
}

/**
 * A fault-injecting HTTP proxy in front of a real local server: forwards every request, and for the
 * calls a test picks (by `X-Amz-Target`, e.g. `Kinesis_20131202.GetRecords`) answers with a fault.
 */
export class FaultProxy {
  private readonly rules: Rule[] = [];
  private readonly counts = new Map<string, number>();
  private readonly faults = new Map<string, number>();
  private server: Server | undefined;

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  inject(target: string, fault: Fault, options: { skip?: number; times?: number } = {}): void {
    this.rules.push({ target, fault, skip: options.skip ?? 0, times: options.times ?? 1 });
  }

  /** Ends every fault still pending for `target`: a fault that lasted a while stops. */
  clear(target: string): void {
    for (const rule of this.rules) if (rule.target === target) rule.times = 0;
  }

  /** Calls seen for a target (faulted or forwarded). */
  count(target: string): number {
    return this.counts.get(target) ?? 0;
  }

  faulted(target: string): number {
    return this.faults.get(target) ?? 0;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private pick(target: string): Fault | undefined {
    const rule = this.rules.find((r) => r.target === target && r.times > 0);
    if (!rule) return undefined;
    if (rule.skip > 0) {
      rule.skip--;
      return undefined;
    }
    rule.times--;
    return rule.fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const target = String(req.headers['x-amz-target'] ?? '');
    this.counts.set(target, this.count(target) + 1);
    const fault = this.pick(target);
    if (fault) {
      this.faults.set(target, this.faulted(target) + 1);
      if (fault === 'hang') return void req.resume(); // never answers
      if (typeof fault === 'object' && 'delayMs' in fault) return void setTimeout(() => this.forward(req, res), fault.delayMs);
      if (fault !== 'destroy' && fault.afterForwarding) return this.forward(req, res, fault);
      req.resume();
      if (fault === 'destroy') return void req.socket.destroy();
      const body = JSON.stringify({ __type: fault.type, message: fault.message ?? fault.type });
      res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'fault-proxy', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    this.forward(req, res);
  }

  /** Forwards to the real server; with a fault, the server's answer is replaced (the call did land). */
  private forward(req: IncomingMessage, res: ServerResponse, replaceWith?: { status: number; type: string; message?: string }): void {
    const url = new URL(this.target);
    const upstream = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: { ...req.headers, host: url.host } },
      (up) => {
        if (replaceWith) {
          up.resume();
          const body = JSON.stringify({ __type: replaceWith.type, message: replaceWith.message ?? replaceWith.type });
          res.writeHead(replaceWith.status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) });
          return void res.end(body);
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
