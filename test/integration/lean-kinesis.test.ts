import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisClient, PutRecordsCommand, type GetRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startEnv, uniqueName, createStream, splitShard, credentials, region, type TestEnv } from '../support/env.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { KinesisDataFetcher, type GetRecordsPath, type IteratorPosition } from '../../src/retrieval/polling/kinesis-data-fetcher.ts';
import { aggregate } from '../../src/retrieval/aggregation/index.ts';
import { toChildShards, toClientRecords } from '../../src/retrieval/records-converter.ts';
import { TRIM_HORIZON } from '../../src/retrieval/extended-sequence-number.ts';
import { RequestTimeoutError } from '../../src/common/deadline.ts';
import { attachHttp1Client } from '../../src/common/http1/client-registry.ts';

const GET_RECORDS = 'Kinesis_20131202.GetRecords';
const SHARD = 'shardId-000000000000';
/** 'lean' on an app's client (its handler sends); 'lean-own' on a client ts-kcl built (its own HTTP/1.1 client sends). */
type Path = GetRecordsPath | 'lean-own';
const PATHS: Path[] = ['sdk', 'lean', 'lean-own'];
const never = new AbortController().signal;

/** Every page of a shard from TRIM_HORIZON until an empty page or its end, `$metadata` left out. */
async function readShard(fetcher: KinesisDataFetcher): Promise<Omit<GetRecordsCommandOutput, '$metadata'>[]> {
  const pages: Omit<GetRecordsCommandOutput, '$metadata'>[] = [];
  let iterator = await fetcher.getIterator({ type: 'checkpoint', checkpoint: TRIM_HORIZON }, never);
  while (iterator !== undefined) {
    const { $metadata, ...page } = await fetcher.getRecords(iterator, never);
    assert.equal($metadata.httpStatusCode, 200);
    pages.push(page);
    if ((page.Records ?? []).length === 0 && page.NextShardIterator !== undefined) break;
    iterator = page.NextShardIterator;
  }
  return pages;
}

describe('GetRecords: the lean path and the SDK path', () => {
  let env: TestEnv;
  let proxy: FaultProxy;
  let kinesis: KinesisClient;
  let ownKinesis: KinesisClient;
  const owned: { destroy(): void }[] = [];
  /** A client as AwsClients builds one: the lean path sends on its attached HTTP/1.1 client. */
  const asOwned = (client: KinesisClient): KinesisClient => {
    owned.push(attachHttp1Client(client), client);
    return client;
  };
  before(async () => {
    env = await startEnv('kinesalite');
    proxy = new FaultProxy(env.servers.kinesis.endpoint);
    const endpoint = await proxy.start();
    kinesis = new KinesisClient({ region, credentials, endpoint, requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true } }) });
    ownKinesis = asOwned(new KinesisClient({ region, credentials, endpoint, requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true } }) }));
  });
  after(async () => {
    for (const client of owned) client.destroy();
    kinesis?.destroy();
    await proxy?.stop();
    await env?.close();
  });

  const fetcher = (stream: string, path: Path, shardId = SHARD, maxRecords = 4, timeoutMs = 5000): KinesisDataFetcher =>
    path === 'lean-own'
      ? new KinesisDataFetcher(ownKinesis, { streamName: stream }, shardId, maxRecords, timeoutMs, 'lean')
      : new KinesisDataFetcher(kinesis, { streamName: stream }, shardId, maxRecords, timeoutMs, path);

  it('give identical pages and records: plain, KPL aggregates, unicode keys, binary data, arrival timestamps, shard end with children', async () => {
    const stream = uniqueName('lean-same');
    await createStream(env.kinesis, stream, 1);
    const users = [0, 1, 2, 3].map((j) => ({ partitionKey: `agg-ключ-${j}`, data: Buffer.from(`agg-${j}`) }));
    const [packed] = aggregate(users);
    const entries = [
      { PartitionKey: 'plain-1', Data: Buffer.from('hello') },
      { PartitionKey: 'ключ-ü-✓', Data: Buffer.from([0, 255, 1, 254, 10, 13, 34, 92]) },
      { PartitionKey: packed!.partitionKey, Data: packed!.data },
      ...Array.from({ length: 7 }, (_, i) => ({ PartitionKey: `pk-${i}`, Data: Buffer.alloc(300 + i, i) })),
    ];
    await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
    await splitShard(env.kinesis, stream, SHARD); // the parent closes: its last page has no NextShardIterator

    const [sdk, lean, own] = [await readShard(fetcher(stream, 'sdk')), await readShard(fetcher(stream, 'lean')), await readShard(fetcher(stream, 'lean-own'))];
    // Iterators are opaque and differ per call; MillisBehindLatest moves with the clock.
    const strip = (pages: typeof sdk) => pages.map(({ NextShardIterator, MillisBehindLatest, ...rest }) => ({ ...rest, hasNext: NextShardIterator !== undefined, behind: typeof MillisBehindLatest }));
    assert.deepEqual(strip(lean), strip(sdk), 'the same pages');
    assert.deepEqual(strip(own), strip(sdk), 'the same pages on ts-kcl\'s own HTTP client');
    const records = (pages: typeof sdk) => pages.flatMap((p) => p.Records ?? []);
    assert.equal(records(sdk).length, entries.length);
    for (const r of records(lean)) {
      assert.ok(r.Data instanceof Uint8Array && !Buffer.isBuffer(r.Data), 'Data is a plain Uint8Array, as the SDK gives it');
      assert.ok(r.ApproximateArrivalTimestamp instanceof Date && r.ApproximateArrivalTimestamp.getTime() > 0);
    }
    const client = (pages: typeof sdk) => toClientRecords(records(pages), undefined, TRIM_HORIZON);
    assert.deepEqual(client(lean), client(sdk), 'the same records for the processor, the aggregate de-aggregated');
    assert.equal(client(lean).filter((r) => r.aggregated).length, users.length);
    assert.equal(sdk.at(-1)!.NextShardIterator, undefined, 'read to the end of the closed parent');
    assert.deepEqual(toChildShards(lean.at(-1)!.ChildShards), toChildShards(sdk.at(-1)!.ChildShards));
  });

  it('open the same iterators on every path: each position type, and a missing shard fails with the same error', async () => {
    const stream = uniqueName('lean-iter');
    await createStream(env.kinesis, stream, 1);
    for (let i = 0; i < 5; i++) {
      await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: `k${i}`, Data: Buffer.from(`r${i}`) }] }));
      await new Promise((r) => setTimeout(r, 20)); // distinct arrival times for AT_TIMESTAMP
    }
    const all = (await readShard(fetcher(stream, 'sdk'))).flatMap((p) => p.Records ?? []);
    const third = all[2]!;
    const positions: IteratorPosition[] = [
      { type: 'checkpoint', checkpoint: TRIM_HORIZON },
      { type: 'checkpoint', checkpoint: { sequenceNumber: 'LATEST', subSequenceNumber: 0 } },
      { type: 'checkpoint', checkpoint: { sequenceNumber: third.SequenceNumber!, subSequenceNumber: 0 } },
      { type: 'after', sequenceNumber: third.SequenceNumber! },
      { type: 'checkpoint', checkpoint: { sequenceNumber: 'AT_TIMESTAMP', subSequenceNumber: 0 }, timestamp: third.ApproximateArrivalTimestamp! },
    ];
    const readFrom = async (f: KinesisDataFetcher, position: IteratorPosition): Promise<string[]> => {
      const iterator = await f.getIterator(position, never);
      assert.ok(iterator);
      const page = await f.getRecords(iterator, never);
      return (page.Records ?? []).map((r) => Buffer.from(r.Data!).toString());
    };
    for (const position of positions) {
      const seen = [];
      for (const path of PATHS) seen.push(await readFrom(fetcher(stream, path, SHARD, 10), position));
      assert.deepEqual(seen[1], seen[0], `lean as the SDK from ${JSON.stringify(position)}`);
      assert.deepEqual(seen[2], seen[0], `lean on its own HTTP client as the SDK from ${JSON.stringify(position)}`);
    }
    assert.deepEqual(await readFrom(fetcher(stream, 'lean-own'), positions[2]!), ['r2', 'r3', 'r4'], 'AT_SEQUENCE_NUMBER');
    assert.deepEqual(await readFrom(fetcher(stream, 'lean-own'), positions[3]!), ['r3', 'r4'], 'AFTER_SEQUENCE_NUMBER');
    assert.deepEqual(await readFrom(fetcher(stream, 'lean-own'), positions[4]!), ['r2', 'r3', 'r4'], 'AT_TIMESTAMP: the epoch seconds sent as the SDK sends them');
    const missing = [];
    for (const path of PATHS) {
      const err = (await fetcher(stream, path, 'shardId-000000000042').getIterator(positions[0]!, never).then(
        () => assert.fail(`${path}: no error`),
        (e: unknown) => e,
      )) as Error & { $metadata?: { httpStatusCode?: number } };
      missing.push({ name: err.name, status: err.$metadata?.httpStatusCode });
    }
    assert.deepEqual(missing[1], missing[0]);
    assert.deepEqual(missing[2], missing[0]);
    assert.equal(missing[0]!.name, 'ResourceNotFoundException');
  });

  for (const type of ['ExpiredIteratorException', 'ResourceNotFoundException', 'InvalidArgumentException', 'KMSAccessDeniedException', 'KMSThrottlingException'] as const) {
    it(`map a ${type} answer to the same error name, fault and status`, async () => {
      const stream = uniqueName('lean-err');
      await createStream(env.kinesis, stream, 1);
      const seen = [];
      for (const path of PATHS) {
        const f = fetcher(stream, path);
        const iterator = (await f.getIterator({ type: 'checkpoint', checkpoint: TRIM_HORIZON }, never))!;
        const before = proxy.count(GET_RECORDS);
        proxy.inject(GET_RECORDS, { status: 400, type, message: `injected ${type}` }, { times: 1 });
        const err = (await f.getRecords(iterator, never).then(
          () => assert.fail(`${path}: no error`),
          (e: unknown) => e,
        )) as Error & { $fault?: string; $metadata?: { httpStatusCode?: number } };
        proxy.clear(GET_RECORDS);
        seen.push({ name: err.name, message: err.message, fault: err.$fault, status: err.$metadata?.httpStatusCode, calls: proxy.count(GET_RECORDS) - before });
      }
      assert.deepEqual(seen[1], seen[0], `lean (second) as the SDK (first): ${JSON.stringify(seen)}`);
      assert.deepEqual(seen[2], seen[0], `lean on its own HTTP client (third) as the SDK (first): ${JSON.stringify(seen)}`);
      assert.equal(seen[0]!.name, type);
    });
  }

  it("send through an app's own handler on an app's client, and never through the SDK handler on a client ts-kcl built", async () => {
    const stream = uniqueName('lean-handler');
    await createStream(env.kinesis, stream, 1);
    await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: 'k', Data: Buffer.from('x') }] }));
    /** A NodeHttpHandler that counts what it carries, by X-Amz-Target. */
    const counting = (): { handler: NodeHttpHandler; seen: string[] } => {
      const handler = new NodeHttpHandler({ httpAgent: { keepAlive: true } });
      const seen: string[] = [];
      const handle = handler.handle.bind(handler);
      handler.handle = (request, options) => (seen.push(String(request.headers['x-amz-target'])), handle(request, options));
      return { handler, seen };
    };
    const app = counting();
    const ours = counting();
    const appClient = new KinesisClient({ region, credentials, endpoint: env.servers.kinesis.endpoint, requestHandler: app.handler });
    const ownClient = asOwned(new KinesisClient({ region, credentials, endpoint: env.servers.kinesis.endpoint, requestHandler: ours.handler }));
    try {
      for (const client of [appClient, ownClient]) {
        const pages = await readShard(new KinesisDataFetcher(client, { streamName: stream }, SHARD, 4, 5000, 'lean'));
        assert.deepEqual(pages.flatMap((p) => p.Records ?? []).map((r) => Buffer.from(r.Data!).toString()), ['x']);
      }
      assert.deepEqual(new Set(app.seen), new Set(['Kinesis_20131202.GetShardIterator', 'Kinesis_20131202.GetRecords']), "the app's handler carried both calls");
      assert.deepEqual(ours.seen, [], "ts-kcl's own client carried them, not the SDK handler");
    } finally {
      appClient.destroy();
    }
  });

  it('reach the endpoint the environment names (AWS_ENDPOINT_URL_KINESIS) when the client has none, as the SDK does', async () => {
    const stream = uniqueName('lean-env');
    await createStream(env.kinesis, stream, 1);
    await env.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: 'k', Data: Buffer.from('via-env') }] }));
    const saved = process.env.AWS_ENDPOINT_URL_KINESIS;
    process.env.AWS_ENDPOINT_URL_KINESIS = env.servers.kinesis.endpoint;
    const fromEnv = new KinesisClient({ region, credentials, requestHandler: new NodeHttpHandler() });
    const fromEnvOwned = asOwned(new KinesisClient({ region, credentials, requestHandler: new NodeHttpHandler() }));
    try {
      for (const path of PATHS) {
        const client = path === 'lean-own' ? fromEnvOwned : fromEnv;
        const pages = await readShard(new KinesisDataFetcher(client, { streamName: stream }, SHARD, 4, 5000, path === 'lean-own' ? 'lean' : path));
        assert.deepEqual(pages.flatMap((p) => p.Records ?? []).map((r) => Buffer.from(r.Data!).toString()), ['via-env'], `${path} path`);
      }
    } finally {
      fromEnv.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_KINESIS;
      else process.env.AWS_ENDPOINT_URL_KINESIS = saved;
    }
  });

  it('retry throttling as the SDK does: two throttles absorbed, three fail with the same name and attempt count', async () => {
    const stream = uniqueName('lean-throttle');
    await createStream(env.kinesis, stream, 1);
    for (const times of [2, 3]) {
      const seen = [];
      for (const path of PATHS) {
        const f = fetcher(stream, path);
        const iterator = (await f.getIterator({ type: 'checkpoint', checkpoint: TRIM_HORIZON }, never))!;
        const before = proxy.count(GET_RECORDS);
        proxy.inject(GET_RECORDS, { status: 400, type: 'ProvisionedThroughputExceededException' }, { times });
        const outcome = await f.getRecords(iterator, never).then(
          (out) => ({ ok: true, attempts: out.$metadata.attempts }),
          (e: Error & { $metadata?: { attempts?: number } }) => ({ ok: false, name: e.name, attempts: e.$metadata?.attempts }),
        );
        proxy.clear(GET_RECORDS);
        seen.push({ ...outcome, calls: proxy.count(GET_RECORDS) - before });
      }
      assert.deepEqual(seen[1], seen[0], `${times} throttles: lean (second) as the SDK (first): ${JSON.stringify(seen)}`);
      assert.deepEqual(seen[2], seen[0], `${times} throttles: lean on its own HTTP client (third) as the SDK (first): ${JSON.stringify(seen)}`);
      assert.equal(seen[0]!.ok, times < 3);
    }
  });

  it('hold the deadline and the caller signal: an unanswered call times out, an abort ends it at once', async () => {
    const stream = uniqueName('lean-hang');
    await createStream(env.kinesis, stream, 1);
    for (const path of PATHS) {
      const f = fetcher(stream, path, SHARD, 4, 800);
      const iterator = (await f.getIterator({ type: 'checkpoint', checkpoint: TRIM_HORIZON }, never))!;
      proxy.inject(GET_RECORDS, 'hang', { times: 2 });
      const started = performance.now();
      await assert.rejects(f.getRecords(iterator, never), RequestTimeoutError, `${path}: the deadline`);
      const waited = performance.now() - started;
      assert.ok(waited >= 700 && waited < 5000, `${path}: one deadline (${waited.toFixed(0)} ms)`);
      const controller = new AbortController();
      const reason = new Error('shutdown');
      const call = f.getRecords(iterator, controller.signal);
      setImmediate(() => controller.abort(reason));
      const aborted = performance.now();
      await assert.rejects(call, (err: unknown) => err === reason || (err as Error).name === 'AbortError', `${path}: the abort`);
      assert.ok(performance.now() - aborted < 500, `${path}: ended at once`);
      proxy.clear(GET_RECORDS);
    }
  });
});
