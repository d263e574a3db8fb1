import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../common/logger.ts';

/** The child is gone or its pipes broke: the shard's processor cannot go on. */
export class ChildProcessGone extends Error {
  override name = 'ChildProcessGone';
}

export interface ChildSpawnOptions {
  /** argv: the executable (looked up on PATH, no shell, as Java's ProcessBuilder) and its arguments. */
  command: readonly string[];
  /** The daemon's own working directory and environment, as the Java daemon passes them on. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Child stderr lines go here, one WARN each with the shard id. */
  logger: Logger;
}

/**
 * One record processor child: JSON lines to its stdin, lines from its stdout in order, its stderr
 * forwarded to the log. Started in its own process group, so a Ctrl-C or a group signal reaches the
 * daemon only and the daemon decides when each child stops (after shutdownRequested).
 */
export class ChildChannel {
  private readonly process: ChildProcess;
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private gone: ChildProcessGone | undefined;
  private readonly closed: Promise<void>;

  constructor(options: ChildSpawnOptions) {
    const [file, ...args] = options.command;
    this.process = spawn(file!, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.closed = new Promise((resolve) => {
      this.process.once('close', (code, signal) => {
        this.end(`exited ${signal ? `on ${signal}` : `with code ${code}`}`);
        resolve();
      });
      this.process.once('error', (err) => {
        this.end(`could not start ${file}: ${err.message}`);
        resolve();
      });
    });
    this.process.stdin!.on('error', (err) => this.end(`stdin broke: ${err.message}`));
    createInterface({ input: this.process.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      this.lines.push(line);
      this.wake?.();
    });
    forwardStderr(this.process.stderr!, (text) => options.logger.warn({ stderr: text }, 'Record processor child wrote to stderr'));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  private end(reason: string): void {
    this.gone ??= new ChildProcessGone(`the record processor child ${reason}`);
    this.wake?.();
  }

  /** Writes one line; rejects when the child is gone. Waits for the pipe, so a slow child applies backpressure. */
  write(line: string): Promise<void> {
    if (this.gone) return Promise.reject(this.gone);
    return new Promise((resolve, reject) => {
      this.process.stdin!.write(line + '\n', (err) => (err ? reject(this.gone ?? new ChildProcessGone(`writing to the child failed: ${err.message}`)) : resolve()));
    });
  }

  /** The next stdout line; rejects once the child is gone and every line it wrote was read. */
  async nextLine(): Promise<string> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.gone) throw this.gone;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  /** Rejects as nextLine would, without taking a line: for racing a wait against the child's end. */
  get isGone(): boolean {
    return this.gone !== undefined;
  }

  /**
   * Ends the child as the Java daemon does: closes its stdin (the client libraries exit on end of
   * input) and waits for it to exit; after `graceMs` it is killed.
   */
  async close(graceMs: number): Promise<void> {
    this.process.stdin!.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    timer.unref();
    await this.closed;
    clearTimeout(timer);
  }

  /** Kills the child (SIGKILL): for a child that broke the protocol or stopped answering. */
  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
  }

  /** Resolves once the child has exited and its pipes are closed. */
  get exited(): Promise<void> {
    return this.closed;
  }
}

/** Longest stderr text held back waiting for a newline (amazon-kclpy's sample writes none), and for how long. */
const STDERR_PIECE = 4096;
const STDERR_HOLD_MS = 200;

/** One log entry per stderr line; text without a newline goes out after STDERR_HOLD_MS or STDERR_PIECE characters. */
function forwardStderr(stream: NodeJS.ReadableStream, forward: (text: string) => void): void {
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (pending !== '') forward(pending);
    pending = '';
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    clearTimeout(timer);
    const lines = (pending + chunk).split(/\r?\n/);
    pending = lines.pop()!;
    for (const line of lines) forward(line);
    while (pending.length >= STDERR_PIECE) {
      forward(pending.slice(0, STDERR_PIECE));
      pending = pending.slice(STDERR_PIECE);
    }
    if (pending !== '') timer = setTimeout(flush, STDERR_HOLD_MS).unref();
  });
  stream.on('end', () => {
    clearTimeout(timer);
    flush();
  });
}
