import type { Lease } from './lease.ts';
import type { MetricDatum } from '../metrics/metrics-sink.ts';
import type { MetricsLevel } from '../metrics/metrics-level.ts';
import type { SchedulerConfig } from '../config.ts';
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
  /** The thread's own DynamoDBClient is built from these; absent credentials = the SDK's default chain. */
  client: {
    region?: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };
  };
}

/** Where renewals run: in their own thread, or on the main thread (and why). */
export type RenewalPlacement = { thread: RenewalThreadSettings } | { mainThread: string };

/**
 * Renewals go to a worker thread unless something the app passed cannot cross into one: its own
 * DynamoDBClient or a credentials provider function. Then they stay on the main thread, as before.
 */
export function placeRenewals(
  config: Pick<SchedulerConfig, 'dynamoDBClient' | 'clientConfig'>,
  settings: Omit<RenewalThreadSettings, 'client'>,
  renewInWorkerThread = true,
): RenewalPlacement {
  if (!renewInWorkerThread) return { mainThread: 'lease.renewInWorkerThread is false' };
  if (config.dynamoDBClient !== undefined) return { mainThread: 'the app passed its own dynamoDBClient, which cannot cross into a thread' };
  const cc = config.clientConfig ?? {};
  const credentials = cc.credentials;
  if (typeof credentials === 'function') return { mainThread: 'clientConfig.credentials is a provider function, which cannot cross into a thread' };
  let plain: RenewalThreadSettings['client']['credentials'];
  if (credentials !== undefined) {
    plain = { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey };
    if (credentials.sessionToken !== undefined) plain.sessionToken = credentials.sessionToken;
    if (credentials.expiration !== undefined) plain.expiration = credentials.expiration;
  }
  return {
    thread: {
      ...settings,
      client: {
        ...(cc.region !== undefined ? { region: cc.region } : {}),
        ...(cc.endpoints?.dynamodb !== undefined ? { endpoint: cc.endpoints.dynamodb } : {}),
        ...(plain !== undefined ? { credentials: plain } : {}),
      },
    },
  };
}

/** Main thread → renewal thread. `id` asks for a reply with the same id. */
export type ToRenewalThread =
  | { type: 'hold'; lease: Lease; token: string; slot: SharedArrayBuffer; renewedAtMs: number }
  | { type: 'resume'; id: number; lease: Lease; token: string; slot: SharedArrayBuffer }
  | { type: 'drop'; leaseKey: string; token: string }
  | { type: 'update'; id: number; leaseKey: string; token: string; lease: Lease }
  | { type: 'release'; id: number; leaseKey: string; token: string; timeoutMs: number }
  | { type: 'renewNow'; id: number }
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
