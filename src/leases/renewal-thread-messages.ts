import type { Lease } from './lease.ts';
import type { MetricDatum } from '../metrics/metrics-sink.ts';
import type { MetricsLevel } from '../metrics/metrics-level.ts';
import type { SchedulerConfig } from '../config.ts';
import type { LeanAccess } from './dynamodb/lean/lean-dynamodb.ts';
import type { Logger } from '../common/logger.ts';
import {
  InvalidStateException,
  KclError,
  KinesisClientLibDependencyException,
  ResourceNotFoundError,
  ShutdownException,
  ThrottlingException,
} from '../errors.ts';

/** Everything the renewal thread needs, all of it structured-cloneable (no clients, no functions). */
export interface RenewalThreadSettings {
  workerId: string;
  tableName: string;
  billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  /** Deadline of every DynamoDB call in the thread (lease.dynamoDbRequestTimeoutMs). */
  requestTimeoutMs: number;
  failoverTimeMs: number;
  renewerIntervalMs: number;
  metricsLevel: MetricsLevel;
  /**
   * Region, endpoint and credentials of the thread's calls, when known up front (tests, benches); else
   * the thread waits for them in an `access` message (see LeanAccessSource).
   */
  client?: LeanAccess;
}

/** The main thread's side of the thread's access: its own SDK client resolves it, and again whenever its credentials change. */
export interface LeanAccessSource {
  /** Calls `onAccess` with the first access and on every change, until the returned stop function is called. */
  watch(onAccess: (access: LeanAccess) => void, logger: Logger): () => void;
}

/** Where renewals run: in their own thread (its DynamoDB access from `access`), or on the main thread (and why). */
export type RenewalPlacement = { thread: RenewalThreadSettings; access: LeanAccessSource } | { mainThread: string };

/**
 * Renewals go to a worker thread, which calls DynamoDB with what the worker's own client resolved
 * (`access`: any credentials provider works), unless the app passed its own dynamoDBClient: its
 * middleware and handler cannot cross into a thread, so they stay on the main thread, as before.
 */
export function placeRenewals(
  config: Pick<SchedulerConfig, 'dynamoDBClient'>,
  settings: Omit<RenewalThreadSettings, 'client'>,
  renewInWorkerThread: boolean,
  access: LeanAccessSource,
): RenewalPlacement {
  if (!renewInWorkerThread) return { mainThread: 'lease.renewInWorkerThread is false' };
  if (config.dynamoDBClient !== undefined) return { mainThread: 'the app passed its own dynamoDBClient, whose middleware and handler cannot cross into a thread' };
  return { thread: { ...settings }, access };
}

/** Main thread → renewal thread. `id` asks for a reply with the same id. */
export type ToRenewalThread =
  | { type: 'hold'; lease: Lease; token: string; slot: SharedArrayBuffer; renewedAtMs: number }
  | { type: 'resume'; id: number; lease: Lease; token: string; slot: SharedArrayBuffer }
  | { type: 'drop'; leaseKey: string; token: string }
  | { type: 'update'; id: number; leaseKey: string; token: string; lease: Lease }
  | { type: 'release'; id: number; leaseKey: string; token: string; timeoutMs: number }
  | { type: 'renewNow'; id: number }
  | { type: 'throughput'; renewerIntervalMs: number }
  | { type: 'access'; access: LeanAccess }
  | { type: 'close' };

export interface SerializedError {
  name: string;
  message: string;
}

/** Renewal thread → main thread. */
export type FromRenewalThread =
  | { type: 'reply'; id: number; ok: boolean; lease?: Lease; error?: SerializedError }
  | { type: 'lost'; leaseKey: string; token: string; reason: string }
  | { type: 'handoff'; leaseKey: string; token: string; newOwner: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; obj: object; msg: string }
  | { type: 'metric'; datum: MetricDatum };

export const serializeError = (err: unknown): SerializedError =>
  err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };

const KNOWN: Record<string, new (message: string) => KclError> = {
  ThrottlingException,
  KinesisClientLibDependencyException,
  InvalidStateException,
  ResourceNotFoundError,
  ShutdownException,
};

/** The KCL error the thread's call failed with, rebuilt on this side (a processor may test `instanceof`). */
export function deserializeError(e: SerializedError): Error {
  const Known = KNOWN[e.name];
  if (Known) return new Known(e.message);
  const err = new KinesisClientLibDependencyException(e.message);
  return err;
}

/** The fields a checkpoint may change: everything but the lease's identity, ownership, counter and throughput (the thread's). */
export function applyLeaseChange(target: Lease, changed: Lease): void {
  const { leaseKey: _key, leaseOwner: _owner, leaseCounter: _counter, checkpointOwner: _cpOwner, throughputKBps: _kbps, ...fields } = changed;
  for (const key of ['pendingCheckpoint', 'pendingCheckpointState', 'hashKeyRange'] as const) delete target[key];
  Object.assign(target, structuredClone(fields));
}
