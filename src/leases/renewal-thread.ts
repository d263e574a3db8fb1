// The renewal thread (a node:worker_threads Worker): renews this worker's leases on its own event
// loop, so a record processor that blocks the main thread cannot starve them (Java renews on its
// own threads). It owns the schedule and the counters; every other write to a held lease comes here
// as a message, so it stays serialized with renewals and conditional on the counter known here.
import { parentPort, workerData } from 'node:worker_threads';
import { DynamoDBLeaseRefresher } from './dynamodb/dynamodb-lease-refresher.ts';
import { LeanDynamoDBClient } from './dynamodb/lean/lean-dynamodb.ts';
import { LeaseRenewer } from './lease-renewer.ts';
import { applyLeaseChange, serializeError, type FromRenewalThread, type RenewalThreadSettings, type ToRenewalThread } from './renewal-thread-messages.ts';
import { Metrics } from '../metrics/metrics.ts';
import { Periodic } from '../common/periodic.ts';
import { errorFields, type LogFn, type Logger } from '../common/logger.ts';

const port = parentPort ?? notInAThread();
function notInAThread(): never {
  throw new Error('renewal-thread runs only as a worker thread');
}
const settings = workerData as RenewalThreadSettings;

const post = (message: FromRenewalThread): void => port.postMessage(message);
const logAt =
  (level: 'debug' | 'info' | 'warn' | 'error'): LogFn =>
  (objOrMsg: object | string, msg?: string) =>
    typeof objOrMsg === 'string' ? post({ type: 'log', level, obj: {}, msg: objOrMsg }) : post({ type: 'log', level, obj: objOrMsg, msg: msg ?? '' });
const logger: Logger = { debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') };
const metrics = new Metrics(settings.metricsLevel, [{ record: (datum) => post({ type: 'metric', datum }) }], logger);

// DynamoDB without the SDK (its load alone cost ~200 ms CPU and ~25 MB here); calls wait for the first access.
const client = new LeanDynamoDBClient();
if (settings.client) client.setAccess(settings.client);
const refresher = new DynamoDBLeaseRefresher(client, settings.tableName, settings.billingMode, settings.requestTimeoutMs);
const renewer = new LeaseRenewer(refresher, settings.workerId, settings.failoverTimeMs, logger, metrics, (leaseKey, reason) => {
  const token = lostTokens.get(leaseKey);
  if (token === undefined) return;
  lostTokens.delete(leaseKey);
  post({ type: 'lost', leaseKey, token, reason });
});
renewer.onHandoffRequested = (leaseKey, newOwner) => {
  const token = lostTokens.get(leaseKey);
  if (token !== undefined) post({ type: 'handoff', leaseKey, token, newOwner });
};
/** The token of each lease held here, kept until its loss is reported (the renewer drops it first) or it is let go. */
const lostTokens = new Map<string, string>();

/** A lease let go on purpose leaves the map, so it stays as small as the set of leases held. */
const forget = (leaseKey: string, token: string): void => {
  if (lostTokens.get(leaseKey) === token) lostTokens.delete(leaseKey);
};

const heldBy = (leaseKey: string, token: string): boolean => renewer.heldLeases().some((h) => h.lease.leaseKey === leaseKey && h.concurrencyToken === token);

async function handle(m: ToRenewalThread): Promise<void> {
  switch (m.type) {
    case 'hold':
      lostTokens.set(m.lease.leaseKey, m.token);
      renewer.adopt(m.lease, m.token, m.slot, m.renewedAtMs);
      return;
    case 'resume': {
      lostTokens.set(m.lease.leaseKey, m.token);
      const held = await renewer.resume(m.lease, m.token, m.slot);
      post({ type: 'reply', id: m.id, ok: held !== undefined, ...(held ? { lease: held.lease } : {}) });
      return;
    }
    case 'drop':
      if (heldBy(m.leaseKey, m.token)) renewer.drop(m.leaseKey);
      forget(m.leaseKey, m.token);
      return;
    case 'update': {
      const ok = await renewer.updateLease(m.leaseKey, m.token, (lease) => applyLeaseChange(lease, m.lease));
      const held = renewer.heldLeases().find((h) => h.lease.leaseKey === m.leaseKey);
      post({ type: 'reply', id: m.id, ok, ...(ok && held ? { lease: held.lease } : {}) });
      return;
    }
    case 'release': {
      const ok = heldBy(m.leaseKey, m.token) && (await renewer.releaseLease(m.leaseKey, m.timeoutMs));
      if (ok) forget(m.leaseKey, m.token);
      post({ type: 'reply', id: m.id, ok });
      return;
    }
    case 'access':
      client.setAccess(m.access);
      return;
    case 'throughput':
      renewer.recordThroughputOver(m.renewerIntervalMs);
      return;
    case 'renewNow':
      await renewer.renewLeases();
      post({ type: 'reply', id: m.id, ok: true });
      return;
    case 'close':
      // Writes already asked for (a last checkpoint, a release) finish and are answered; then the thread ends.
      await schedule?.stop();
      await Promise.allSettled([...inFlight].filter((p) => p !== current));
      await renewer.close();
      client.destroy();
      port.close();
      return;
  }
}

const inFlight = new Set<Promise<void>>();
let current: Promise<void> | undefined;
port.on('message', (m: ToRenewalThread) => {
  const done: Promise<void> = handle(m)
    .catch((err: unknown) => {
      if ('id' in m) post({ type: 'reply', id: m.id, ok: false, error: serializeError(err) });
      else logger.warn({ message: m.type, ...errorFields(err) }, 'Renewal thread could not handle a message');
    })
    .finally(() => inFlight.delete(done));
  current = done;
  inFlight.add(done);
});

// The schedule lives here: renewals go on however busy the main thread is. It starts once the
// leases already sent (queued while this thread loaded) are held, so the first round renews them.
let schedule: Periodic | undefined;
setImmediate(() => {
  schedule = new Periodic(() => renewer.renewLeases(), settings.renewerIntervalMs, new AbortController().signal, (err) =>
    logger.warn(errorFields(err), 'Lease renewal round failed; next round retries'),
  );
});
