import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MessageChannel, Worker } from 'node:worker_threads';
import { DynamoDBClient, UpdateItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, credentials, region, waitFor, type TestEnv } from '../support/env.ts';
import { FaultProxy, type Fault } from '../support/fault-proxy.ts';
import { testLease } from '../support/leases.ts';
import { DynamoDBLeaseRefresher } from '../../src/leases/dynamodb/dynamodb-lease-refresher.ts';
import { LeanDynamoDBClient, type LeanAccess, type LeanOperation } from '../../src/leases/dynamodb/lean/lean-dynamodb.ts';
import { accessFromClient, accessOnDemand } from '../../src/leases/dynamodb/lean/sdk-client-access.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { InvalidStateException, ThrottlingException, KinesisClientLibDependencyException } from '../../src/errors.ts';
import type { Lease } from '../../src/leases/lease.ts';

const TARGET = (op: LeanOperation): string => `DynamoDB_20120810.${op}`;

/** What a call failed with, as the refresher's error mapping and the tests compare it. */
interface Failure {
  name: string;
  status: number | undefined;
  fault: string | undefined;
  attempts: number | undefined;
}
async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (err) {
    const e = err as Error & { $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, fault: e.$fault, attempts: e.$metadata?.attempts };
  }
  throw new Error('the call succeeded');
}

describe('lean DynamoDB caller: the renewal thread and the main thread lease table (dynalite)', () => {
  let env: TestEnv;
  let lean: LeanDynamoDBClient;
  let proxy: FaultProxy;
  let proxied: { sdk: DynamoDBClient; lean: LeanDynamoDBClient; endpoint: string };
  let tableName: string;

  const leanOn = (endpoint: string, maxAttempts?: number): LeanDynamoDBClient => {
    const client = new LeanDynamoDBClient();
    client.setAccess({ region, endpoint, credentials, ...(maxAttempts !== undefined ? { maxAttempts } : {}) });
    return client;
  };

  before(async () => {
    env = await startEnv('kinesalite');
    lean = leanOn(env.servers.dynamodb.endpoint);
    proxy = new FaultProxy(env.servers.dynamodb.endpoint);
    const endpoint = await proxy.start();
    proxied = { sdk: new DynamoDBClient({ region, credentials, endpoint }), lean: leanOn(endpoint), endpoint };
    const table = new DynamoDBLeaseRefresher(env.dynamodb, uniqueName('lean'));
    await table.createLeaseTableIfNotExists();
    await table.waitUntilLeaseTableExists(10000);
    tableName = table.tableName;
  });
  after(async () => {
    lean?.destroy();
    proxied?.lean.destroy();
    proxied?.sdk.destroy();
    await proxy?.stop();
    await env?.close();
  });

  /** Every refresher operation of a lease's life, through one client; returns the lease as each step left it. */
  async function lifeOfALease(refresher: DynamoDBLeaseRefresher, key: string): Promise<(Lease | boolean | undefined | string[])[]> {
    const seen: (Lease | boolean | undefined | string[])[] = [];
    const l = testLease(key);
    seen.push(await refresher.createLeaseIfNotExists(l), await refresher.createLeaseIfNotExists(l));
    seen.push(await refresher.takeLease(l, 'wörker-☃'), await refresher.renewLease(l));
    l.checkpoint = { sequenceNumber: '49590338271490256608559692538361571095921575989136588898', subSequenceNumber: 3 };
    l.pendingCheckpoint = { sequenceNumber: '49590338271490256608559692538361571095921575989136588999', subSequenceNumber: 0 };
    l.pendingCheckpointState = new Uint8Array([0, 1, 2, 250, 255, 0x80, 0x7f]);
    seen.push(await refresher.updateLease(l), await refresher.updateLeaseChildShardIds(key, [`${key}-child-1`, `${key}-child-2`]));
    seen.push(await refresher.getLease(key));
    seen.push(await refresher.renewLease({ ...l, leaseCounter: 1 }), await refresher.takeLease({ ...l, leaseCounter: 99 }, 'other')); // stale: conditions fail
    const owners = await refresher.leaseOwners([key, `${key}-missing`]);
    seen.push([...owners.entries()].map(([k, o]) => `${k}:${o.owner}:${o.counter}`));
    seen.push((await refresher.listLeases()).find((x) => x.leaseKey === key), await refresher.hasUnownedLeases());
    seen.push(await refresher.evictLease(l), await refresher.getLease(key));
    await refresher.deleteLease(key);
    seen.push(await refresher.getLease(key));
    return seen;
  }

  it('gives the same leases as the SDK client for every refresher operation (binary checkpoint state, unicode keys)', async () => {
    const viaSdk = new DynamoDBLeaseRefresher(env.dynamodb, tableName);
    const viaLean = new DynamoDBLeaseRefresher(lean, tableName);
    const key = uniqueName('shärd-🦀');
    const sdk = await lifeOfALease(viaSdk, key);
    const mine = await lifeOfALease(viaLean, key);
    assert.deepEqual(mine, sdk);
    const stored = sdk[6] as Lease;
    assert.deepEqual(stored.pendingCheckpointState, new Uint8Array([0, 1, 2, 250, 255, 0x80, 0x7f]), 'the binary state made the round trip');
    // Written by one, read by the other.
    const l = testLease(uniqueName('cross-ü'));
    l.pendingCheckpointState = new Uint8Array([9, 8, 7]);
    l.pendingCheckpoint = { sequenceNumber: '1', subSequenceNumber: 0 };
    await viaLean.createLeaseIfNotExists(l);
    assert.deepEqual(await viaSdk.getLease(l.leaseKey), await viaLean.getLease(l.leaseKey));
    assert.deepEqual((await viaSdk.getLease(l.leaseKey))?.pendingCheckpointState, new Uint8Array([9, 8, 7]));
  });

  it('fails with the SDK error names: a failed condition, a missing table', async () => {
    const key = uniqueName('cond');
    await new DynamoDBLeaseRefresher(env.dynamodb, tableName).createLeaseIfNotExists(testLease(key));
    const update = { TableName: tableName, Key: { leaseKey: { S: key } }, UpdateExpression: 'SET #c = :n', ConditionExpression: '#c = :old', ExpressionAttributeNames: { '#c': 'leaseCounter' }, ExpressionAttributeValues: { ':n': { N: '5' }, ':old': { N: '42' } } };
    const signal = new AbortController().signal;
    const sdkCond = await failure(env.dynamodb.send(new UpdateItemCommand(update)));
    assert.equal(sdkCond.name, 'ConditionalCheckFailedException');
    assert.deepEqual(await failure(lean.call('UpdateItem', update, { abortSignal: signal })), sdkCond);

    const missing = { TableName: uniqueName('no-such-table'), Key: { leaseKey: { S: key } } };
    const sdkMissing = await failure(env.dynamodb.send(new GetItemCommand(missing)));
    assert.equal(sdkMissing.name, 'ResourceNotFoundException');
    assert.deepEqual(await failure(lean.call('GetItem', missing, { abortSignal: signal })), sdkMissing);
    await assert.rejects(new DynamoDBLeaseRefresher(lean, missing.TableName).getLease(key), InvalidStateException);
  });

  it('retries as the SDK does: 500s, resets and throttles, the same number of attempts (DynamoDB: 4, or maxAttempts)', async () => {
    const key = uniqueName('retry');
    await new DynamoDBLeaseRefresher(env.dynamodb, tableName).createLeaseIfNotExists(testLease(key));
    const get = { TableName: tableName, Key: { leaseKey: { S: key } }, ConsistentRead: true };
    const signal = new AbortController().signal;
    const endpoint = proxied.endpoint;
    // Throttles back off from 1 s: those cases run with 2 attempts, as the app's maxAttempts would set them.
    const twoAttempts = { sdk: new DynamoDBClient({ region, credentials, endpoint, maxAttempts: 2 }), lean: leanOn(endpoint, 2) };
    const callers = {
      sdk: [() => proxied.sdk.send(new GetItemCommand(get)), () => twoAttempts.sdk.send(new GetItemCommand(get))],
      lean: [() => proxied.lean.call('GetItem', get, { abortSignal: signal }), () => twoAttempts.lean.call('GetItem', get, { abortSignal: signal })],
    } as const;
    const error500 = { status: 500, type: 'com.amazonaws.dynamodb.v20120810#InternalServerError' };
    const throttle = { status: 400, type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate exceeded' };
    const calls = (): number => proxy.count(TARGET('GetItem'));
    try {
      for (const [who, [call, callTwice]] of Object.entries(callers)) {
        const cases: { faults: Fault[]; call: () => Promise<unknown>; fails?: string; attempts: number }[] = [
          { faults: [error500, error500, error500, error500], call, fails: 'InternalServerError', attempts: 4 },
          { faults: [error500, 'destroy', 'reset-mid'], call, attempts: 4 },
          { faults: [throttle], call, attempts: 2 },
          { faults: [throttle, throttle], call: callTwice, fails: 'ThrottlingException', attempts: 2 },
        ];
        for (const c of cases) {
          const before = calls();
          for (const fault of c.faults) proxy.inject(TARGET('GetItem'), fault);
          const what = `${who}: ${JSON.stringify(c.faults)}`;
          if (c.fails) {
            const failed = await failure(c.call());
            assert.deepEqual([failed.name, failed.attempts], [c.fails, c.attempts], what);
          } else {
            const out = (await c.call()) as { Item?: unknown; $metadata: { attempts?: number } };
            assert.ok(out.Item, what);
            assert.equal(out.$metadata.attempts, c.attempts, what);
          }
          assert.equal(calls() - before, c.attempts, `${what}: calls that reached the server`);
        }
      }
      // Through the refresher: a throttle stays a throttle.
      proxy.inject(TARGET('GetItem'), throttle, { times: 2 });
      await assert.rejects(new DynamoDBLeaseRefresher(twoAttempts.lean, tableName).getLease(key), ThrottlingException);
    } finally {
      twoAttempts.sdk.destroy();
      twoAttempts.lean.destroy();
    }
  });

  it("corrects its clock once when DynamoDB refuses a signature for its time, as the SDK does", async () => {
    const serverAheadMs = 15 * 60000;
    const signedAt: number[] = [];
    // A server whose clock is 15 minutes ahead: it refuses the first signature for its time, then answers.
    const server = createServer((req, res) => {
      req.resume();
      const amzDate = String(req.headers['x-amz-date']);
      signedAt.push(Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')));
      const body = signedAt.length === 1 ? JSON.stringify({ __type: 'com.amazon.coral.service#InvalidSignatureException', message: 'Signature not yet current' }) : '{}';
      res.writeHead(signedAt.length === 1 ? 400 : 200, { 'content-type': 'application/x-amz-json-1.0', date: new Date(Date.now() + serverAheadMs).toUTCString() });
      res.end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = leanOn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const out = (await client.call('GetItem', { TableName: 't', Key: { leaseKey: { S: 'k' } } }, { abortSignal: new AbortController().signal })) as { $metadata: { attempts: number } };
      assert.equal(out.$metadata.attempts, 2);
      const shift = signedAt[1]! - signedAt[0]!;
      assert.ok(Math.abs(shift - serverAheadMs) < 5000, `the retry was signed at the server's time (shifted ${shift} ms)`);
    } finally {
      client.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

  it("a hung call ends at the refresher's deadline, an aborted one at once", async () => {
    const key = uniqueName('hang');
    const refresher = new DynamoDBLeaseRefresher(proxied.lean, tableName, 'PAY_PER_REQUEST', 500);
    proxy.inject(TARGET('GetItem'), 'hang', { times: 2 });
    let started = performance.now();
    await assert.rejects(refresher.getLease(key), (err: Error) => err instanceof KinesisClientLibDependencyException && /within 500 ms/.test(err.message));
    const hungFor = performance.now() - started;
    assert.ok(hungFor >= 450 && hungFor < 2000, `ended at the deadline (${Math.round(hungFor)} ms)`);

    const controller = new AbortController();
    const call = refresher.getLease(key, { abortSignal: controller.signal });
    await new Promise((r) => setTimeout(r, 50)); // the request is out and hangs
    started = performance.now();
    controller.abort();
    await assert.rejects(call);
    assert.ok(performance.now() - started < 100, 'ended at once on abort');
    proxy.blackout(false); // resets the hung connections
  });

  it("hands the thread the main client's region, endpoint and credentials, and new credentials when the provider rotates them", async () => {
    let issued = 0;
    // Expiring within the SDK's 5-minute refresh window: every resolution asks the provider again.
    const provider = (): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date }> =>
      Promise.resolve({ accessKeyId: `AKID${++issued}`, secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date(Date.now() + 240000) });
    const client = new DynamoDBClient({ region: 'eu-west-1', credentials: provider, maxAttempts: 7 });
    const seen: LeanAccess[] = [];
    const stop = accessFromClient(client, undefined, 20).watch((a) => seen.push(a), silentLogger);
    try {
      await waitFor(() => seen.length >= 3, 'three rotations posted');
      const first = seen[0]!;
      assert.deepEqual(first, { region: 'eu-west-1', endpoint: 'https://dynamodb.eu-west-1.amazonaws.com/', maxAttempts: 7, credentials: { ...first.credentials, secretAccessKey: 'secret', sessionToken: 'token' } });
      assert.match(first.credentials.accessKeyId, /^AKID\d+$/);
      assert.equal(new Set(seen.map((a) => a.credentials.accessKeyId)).size, seen.length, 'each post carries new keys');
    } finally {
      stop();
      client.destroy();
    }
    const after = seen.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(seen.length <= after + 1, 'stopped watching');
    // The endpoint the app configured wins over the client's rules.
    const configured: LeanAccess[] = [];
    const stopConfigured = accessFromClient(env.dynamodb, 'http://127.0.0.1:1234').watch((a) => configured.push(a), silentLogger);
    await waitFor(() => configured.length === 1, 'the first access');
    stopConfigured();
    assert.deepEqual(configured[0], { region, endpoint: 'http://127.0.0.1:1234', maxAttempts: 4, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey } });
    const fromClient: LeanAccess[] = [];
    const stopFromClient = accessFromClient(env.dynamodb).watch((a) => fromClient.push(a), silentLogger);
    await waitFor(() => fromClient.length === 1, 'the first access');
    stopFromClient();
    assert.equal(fromClient[0]!.endpoint, new URL(env.servers.dynamodb.endpoint).href, "the client's own endpoint");
  });

  it("on the main thread, asks the client for access at every call: rotated keys sign the next call, a failing provider fails the call with the SDK's error", async () => {
    const signedWith: string[] = [];
    const server = createServer((req, res) => {
      signedWith.push(/Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'unsigned');
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const getItem = (caller: LeanDynamoDBClient): Promise<unknown> => caller.call('GetItem', { TableName: 't', Key: { leaseKey: { S: 'k' } } }, { abortSignal: new AbortController().signal });
    let issued = 0;
    // Expiring within the SDK's 5-minute refresh window: every call asks the provider again.
    const rotating = new DynamoDBClient({ region, endpoint, credentials: () => Promise.resolve({ accessKeyId: `AKID${++issued}`, secretAccessKey: 'secret', expiration: new Date(Date.now() + 240000) }) });
    const steady = new DynamoDBClient({ region, endpoint, credentials });
    const failing = new DynamoDBClient({ region, endpoint, credentials: () => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })) });
    try {
      const caller = new LeanDynamoDBClient(accessOnDemand(rotating, endpoint));
      for (let i = 0; i < 3; i++) await getItem(caller);
      assert.equal(new Set(signedWith).size, 3, `each call signed with the keys the provider gave last: ${signedWith.join(' ')}`);
      assert.equal(signedWith.at(-1), `AKID${issued}`);
      const ask = accessOnDemand(steady, endpoint);
      assert.equal(await ask(), await ask(), 'the same access while nothing changed');
      assert.deepEqual(await ask(), { region, endpoint, maxAttempts: 4, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey } });
      await assert.rejects(getItem(new LeanDynamoDBClient(accessOnDemand(failing, endpoint))), { name: 'CredentialsProviderError' });
      assert.equal(signedWith.length, 3, 'nothing sent without keys');
      const malformed = new LeanDynamoDBClient(accessOnDemand(steady, 'not a url'));
      for (let i = 0; i < 2; i++) await assert.rejects(getItem(malformed), { code: 'ERR_INVALID_URL' }, 'every call names the malformed endpoint');
    } finally {
      for (const c of [rotating, steady, failing]) c.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

  it('the renewal thread loads no AWS SDK or smithy package, only node: modules', async () => {
    const entry = new URL('../../src/leases/renewal-thread.ts', import.meta.url).href;
    const hooks = `data:text/javascript,${encodeURIComponent(
      `let port; export function initialize(data) { port = data.port; }
       export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }`,
    )}`;
    const { port1, port2 } = new MessageChannel();
    const loaded: string[] = [];
    port1.on('message', (url: string) => loaded.push(url));
    const tsx = import.meta.resolve('tsx/esm/api');
    const bootstrap = `const { workerData } = require('node:worker_threads');
      import('node:module').then((m) => { m.register(${JSON.stringify(hooks)}, { data: { port: workerData.port }, transferList: [workerData.port] }); return import(${JSON.stringify(tsx)}); })
        .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
    const settings = { workerId: 'w', tableName, billingMode: 'PAY_PER_REQUEST', requestTimeoutMs: 5000, failoverTimeMs: 10000, renewerIntervalMs: 60000, metricsLevel: 'NONE', client: { region, credentials, endpoint: env.servers.dynamodb.endpoint } };
    const worker = new Worker(bootstrap, { eval: true, workerData: { ...settings, port: port2 }, transferList: [port2] });
    try {
      worker.postMessage({ type: 'renewNow', id: 1 });
      const [reply] = (await once(worker, 'message')) as [{ type: string; ok: boolean }];
      assert.deepEqual(reply, { type: 'reply', id: 1, ok: true });
      assert.ok(loaded.some((u) => u.endsWith('/lean-dynamodb.ts')), `the hooks saw the thread's modules: ${loaded.join(' ')}`);
      assert.deepEqual(loaded.filter((u) => /node_modules\/(@aws-sdk|@smithy)\//.test(u)), []);
    } finally {
      port1.close();
      await worker.terminate();
    }
  });
});
