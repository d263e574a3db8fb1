import { createServer, request, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { once } from 'node:events';

/**
 * How a picked call is answered: as AWS answers JSON 1.0/1.1 errors (after forwarding: the call landed,
 * its answer is replaced), by dropping the connection before forwarding ('destroy'), after the server
 * answered ('reset-after': the write landed, the answer is lost), half-way through the answer
 * ('reset-mid'), never ('hang'), or late (`delayMs`, then forwarded).
 */
export type Fault =
  | { status: number; type: string; message?: string; afterForwarding?: boolean }
  | 'destroy'
  | 'hang'
  | 'reset-after'
  | 'reset-mid'
  | { delayMs: number };

interface Rule {
  target: string;
  fault: Fault;
  /** Let this many matching calls through first. */
  skip: number;
  /** Then fail this many. */
  times: number;
}

/** Per-call probabilities of each random fault kind (see `chaos`). */
export interface ChaosRates {
  throttle: number;
  error500: number;
  error503: number;
  resetBefore: number;
  resetAfter: number;
  resetMid: number;
  hang: number;
  latency: number;
  /** Latency spike bounds. */
  latencyMs: [number, number];
}

const isDynamo = (target: string): boolean => target.startsWith('DynamoDB_');

/** AWS's error shape for the service behind `target`: JSON 1.0 with a namespaced `__type` for DynamoDB, JSON 1.1 for Kinesis. */
function awsError(target: string, status: number, type: string, message?: string): { status: number; type: string; message: string } {
  return { status, type: isDynamo(target) ? `com.amazonaws.dynamodb.v20120810#${type}` : type, message: message ?? type };
}

/**
 * A fault-injecting HTTP proxy in front of a real local server: forwards every request, and for the
 * calls a test picks (by `X-Amz-Target`, e.g. `Kinesis_20131202.GetRecords`) answers with a fault.
 * It can also inject at random (`chaos`, driven by the caller's seeded random) and black out.
 */
export class FaultProxy {
  private readonly rules: Rule[] = [];
  private readonly counts = new Map<string, number>();
  private readonly faults = new Map<string, number>();
  private readonly kinds = new Map<string, number>();
  private readonly hung = new Set<Socket>();
  private chaosRates: ChaosRates | undefined;
  private random: () => number = Math.random;
  private blackedOut = false;
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

  /** Random faults on every call at these rates (drawn from `random`, so a seed replays them); `undefined` stops them. */
  chaos(rates: ChaosRates | undefined, random: () => number = Math.random): void {
    this.chaosRates = rates;
    this.random = random;
  }

  /** While on, no call is answered (a black-holed route); turning it off resets the stalled connections. */
  blackout(on: boolean): void {
    this.blackedOut = on;
    if (on) return;
    for (const socket of this.hung) socket.destroy();
    this.hung.clear();
  }

  /** Calls seen for a target (faulted or forwarded). */
  count(target: string): number {
    return this.counts.get(target) ?? 0;
  }

  faulted(target: string): number {
    return this.faults.get(target) ?? 0;
  }

  /** Faults injected so far, by kind (throttle, error500, resetAfter, hang, blackout, ...). */
  faultsByKind(): Record<string, number> {
    return Object.fromEntries(this.kinds);
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

  /** One draw per call; at most one fault. */
  private pickRandom(target: string): { kind: string; fault: Fault } | undefined {
    const r = this.chaosRates;
    if (!r) return undefined;
    let x = this.random();
    const throttleType = isDynamo(target) && this.random() < 0.5 ? 'ThrottlingException' : 'ProvisionedThroughputExceededException';
    const table: [keyof ChaosRates, () => Fault][] = [
      ['throttle', () => ({ status: 400, type: throttleType, message: 'Rate exceeded' })],
      ['error500', () => ({ status: 500, type: isDynamo(target) ? 'InternalServerError' : 'InternalFailure' })],
      ['error503', () => ({ status: 503, type: 'ServiceUnavailable' })],
      ['resetBefore', () => 'destroy'],
      ['resetAfter', () => 'reset-after'],
      ['resetMid', () => 'reset-mid'],
      ['hang', () => 'hang'],
      ['latency', () => ({ delayMs: r.latencyMs[0] + Math.floor(this.random() * (r.latencyMs[1] - r.latencyMs[0])) })],
    ];
    for (const [kind, make] of table) {
      const p = r[kind] as number;
      if (x < p) return { kind, fault: make() };
      x -= p;
    }
    return undefined;
  }

  private count1(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const target = String(req.headers['x-amz-target'] ?? '');
    this.count1(this.counts, target);
    if (this.blackedOut) {
      this.count1(this.kinds, 'blackout');
      this.hung.add(req.socket);
      return void req.resume();
    }
    const ruled = this.pick(target);
    const picked = ruled ? { kind: 'rule', fault: ruled } : this.pickRandom(target);
    if (!picked) return this.forward(req, res);
    const { fault } = picked;
    this.count1(this.faults, target);
    this.count1(this.kinds, picked.kind);
    if (fault === 'hang') {
      this.hung.add(req.socket);
      return void req.resume(); // never answers
    }
    if (fault === 'reset-after' || fault === 'reset-mid') return this.forward(req, res, fault);
    if (typeof fault === 'object' && 'delayMs' in fault) return void setTimeout(() => this.forward(req, res), fault.delayMs);
    if (fault !== 'destroy' && fault.afterForwarding) return this.forward(req, res, fault);
    req.resume();
    if (fault === 'destroy') return void req.socket.destroy();
    const error = ruled ? { status: fault.status, type: fault.type, message: fault.message ?? fault.type } : awsError(target, fault.status, fault.type, fault.message);
    this.answer(res, target, error);
  }

  private answer(res: ServerResponse, target: string, error: { status: number; type: string; message: string }): void {
    const body = JSON.stringify({ __type: error.type, message: error.message });
    const type = isDynamo(target) ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
    res.writeHead(error.status, { 'content-type': type, 'x-amzn-requestid': 'fault-proxy', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** Forwards to the real server; with a fault, the server's answer is replaced or cut (the call did land). */
  private forward(req: IncomingMessage, res: ServerResponse, replaceWith?: { status: number; type: string; message?: string } | 'reset-after' | 'reset-mid'): void {
    const url = new URL(this.target);
    const upstream = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: { ...req.headers, host: url.host } },
      (up) => {
        if (replaceWith === 'reset-after') {
          up.resume();
          return void up.once('end', () => res.socket?.destroy());
        }
        if (replaceWith === 'reset-mid') {
          res.writeHead(up.statusCode ?? 502, up.headers);
          return void up.once('data', (chunk: Buffer) => {
            up.resume();
            res.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => res.socket?.destroy());
          });
        }
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
