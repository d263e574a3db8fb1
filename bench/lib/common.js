// Shared plumbing for the benches: the server process, measured child processes, small statistics.
import { fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DIST = fileURLToPath(new URL('../../dist', import.meta.url));
export const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const REGION = 'us-east-1';

/** Every child this process started; killed (by pid) if the bench exits early. */
const children = new Set();
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
function killAll() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * Starts bench/lib/server-host.js (kinesalite + dynalite) in its own process; with `split`, one process
 * per server (commands go to kinesalite's, whose client makes the streams; counts are summed).
 */
export async function startServerHost({ split = false } = {}) {
  if (split) {
    const [k, d] = await Promise.all([startHost('kinesis'), startHost('dynamodb')]);
    return {
      kinesis: k.kinesis,
      dynamodb: d.dynamodb,
      pids: [k.pid, d.pid],
      async call(cmd, args) {
        if (cmd === 'resetCounts') await d.call(cmd, args);
        if (cmd !== 'counts') return k.call(cmd, args);
        const [a, b] = await Promise.all([k.call(cmd, args), d.call(cmd, args)]);
        const counts = { ...a.counts };
        for (const [key, n] of Object.entries(b.counts)) counts[key] = (counts[key] ?? 0) + n;
        return { counts };
      },
      stop: () => Promise.all([k.stop(), d.stop()]),
    };
  }
  return startHost();
}

async function startHost(only) {
  const env = only ? { ...process.env, SERVER_HOST_ONLY: only } : process.env;
  const child = track(fork(fileURLToPath(new URL('./server-host.js', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env }));
  const pending = new Map();
  let nextId = 0;
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server host exited with code ${code} before it was ready`)));
    child.on('message', (msg) => {
      if (msg.ready) return resolve(msg);
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
    });
  });
  const { kinesis, dynamodb } = await ready;
  const call = (cmd, args = {}) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...args });
    });
  return {
    kinesis,
    dynamodb,
    pid: child.pid,
    call,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs `node ...args` and resolves with the last JSON object line it printed on stdout (its result).
 * Rejects on a non-zero exit or after `timeoutMs` (the child is killed).
 */
export function runNode(args, { timeoutMs = 120000, env = {}, onLine } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    let buffered = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (!onLine) return;
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) onLine(line);
    });
    child.stderr.on('data', (d) => (err = (err + d).slice(-8000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const json = out.split('\n').filter((l) => l.startsWith('{')).at(-1);
      if (code !== 0 || !json) return reject(new Error(`node ${args.join(' ')} ended with ${signal ?? `code ${code}`}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms?)` : ''}\n${err}${out.slice(-2000)}`));
      resolve(JSON.parse(json));
    });
  });
}

/** Spawns a long-lived node child (a worker); stdout lines go to `onLine`. */
export function spawnNode(args, { onLine, env = {} } = {}) {
  const child = track(spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] }));
  let buffered = '';
  child.stdout.on('data', (d) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) onLine?.(line);
  });
  return child;
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
export const ratio = (a, b) => `${(a / b).toFixed(2)}x`;

export function machine() {
  return `${os.cpus().length} cpus (${os.cpus()[0]?.model?.trim() ?? '?'}), node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** Polls `check` until truthy; throws with `what` after `timeoutMs`. */
export async function waitFor(check, what, timeoutMs = 30000, intervalMs = 25) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Runs `command ...args` and resolves with every JSON object line it printed on stdout, in order.
 * Rejects on a non-zero exit or after `timeoutMs` (the child is killed). `showStderr` passes its stderr on.
 */
export function runJsonLines(command, args, { timeoutMs = 120000, showStderr = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-8000);
      if (showStderr) process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      if (code !== 0 || lines.length === 0) return reject(new Error(`${command} ${args.join(' ')} ended with ${signal ?? `code ${code}`}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms?)` : ''}\n${err}${out.slice(-2000)}`));
      resolve(lines);
    });
  });
}
