import { KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startLocalServers, type KinesisServerKind, type LocalServers } from '../../src/local/local-servers.ts';

export const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
export const region = 'us-east-1';

/** Local servers plus clients for a test file; `close()` stops everything it started. */
export interface TestEnv {
  servers: LocalServers;
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  /** Client config for a Scheduler (it builds and owns its own clients from this). */
  clientConfig: { region: string; credentials: typeof credentials; endpoints: { kinesis: string; dynamodb: string; kinesisHttp2?: string } };
  close(): Promise<void>;
}

export async function startEnv(kind: KinesisServerKind = 'kinesis-local'): Promise<TestEnv> {
  const servers = await startLocalServers({ kinesis: kind });
  const kinesis = new KinesisClient({ region, credentials, endpoint: servers.kinesis.endpoint, requestHandler: new NodeHttpHandler() });
  const dynamodb = new DynamoDBClient({ region, credentials, endpoint: servers.dynamodb.endpoint });
  return {
    servers,
    kinesis,
    dynamodb,
    clientConfig: {
      region,
      credentials,
      endpoints: {
        kinesis: servers.kinesis.endpoint,
        dynamodb: servers.dynamodb.endpoint,
        ...(servers.kinesis.http2Endpoint ? { kinesisHttp2: servers.kinesis.http2Endpoint } : {}),
      },
    },
    close: async () => {
      kinesis.destroy();
      dynamodb.destroy();
      await servers.stop();
    },
  };
}

let counter = 0;
/** A unique name per test (tables and streams live as long as the servers). */
export const uniqueName = (prefix: string): string => `${prefix}-${process.pid}-${++counter}-${Date.now() % 100000}`;

/** Polls until `check` returns a truthy value; fails with `what` after the timeout. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function createStream(kinesis: KinesisClient, name: string, shards: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  await waitForStreamActive(kinesis, name);
}

export async function waitForStreamActive(kinesis: KinesisClient, name: string): Promise<void> {
  await waitFor(async () => {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    return d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  }, `stream ${name} ACTIVE`);
}

export async function listShards(kinesis: KinesisClient, name: string): Promise<Shard[]> {
  const out = await kinesis.send(new ListShardsCommand({ StreamName: name }));
  return out.Shards ?? [];
}

export interface PutResult {
  partitionKey: string;
  data: string;
  shardId: string;
  sequenceNumber: string;
}

/** Puts records (in calls of up to 500) and returns where each landed. */
export async function putRecords(kinesis: KinesisClient, stream: string, records: { partitionKey: string; data: string; explicitHashKey?: string }[]): Promise<PutResult[]> {
  const results: PutResult[] = [];
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: chunk.map((r) => ({ PartitionKey: r.partitionKey, Data: Buffer.from(r.data), ...(r.explicitHashKey ? { ExplicitHashKey: r.explicitHashKey } : {}) })),
      }),
    );
    if (out.FailedRecordCount) throw new Error(`PutRecords failed for ${out.FailedRecordCount} records`);
    out.Records!.forEach((r, j) => results.push({ ...chunk[j]!, shardId: r.ShardId!, sequenceNumber: r.SequenceNumber! }));
  }
  return results;
}

export const makeRecords = (n: number, prefix = 'r', keys = 16): { partitionKey: string; data: string }[] =>
  Array.from({ length: n }, (_, i) => ({ partitionKey: `pk-${i % keys}`, data: `${prefix}-${i}` }));

/** Splits a shard at the middle of its hash key range; returns the new shard ids once ACTIVE. */
export async function splitShard(kinesis: KinesisClient, stream: string, shardId: string): Promise<string[]> {
  const { SplitShardCommand } = await import('@aws-sdk/client-kinesis');
  const before = new Set((await listShards(kinesis, stream)).map((s) => s.ShardId));
  const shard = (await listShards(kinesis, stream)).find((s) => s.ShardId === shardId)!;
  const start = BigInt(shard.HashKeyRange!.StartingHashKey!);
  const end = BigInt(shard.HashKeyRange!.EndingHashKey!);
  await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: ((start + end) / 2n + 1n).toString() }));
  await waitForStreamActive(kinesis, stream);
  return (await listShards(kinesis, stream)).map((s) => s.ShardId!).filter((id) => !before.has(id));
}

/** Merges two adjacent shards; returns the new shard id once ACTIVE. */
export async function mergeShards(kinesis: KinesisClient, stream: string, a: string, b: string): Promise<string> {
  const { MergeShardsCommand } = await import('@aws-sdk/client-kinesis');
  const before = new Set((await listShards(kinesis, stream)).map((s) => s.ShardId));
  await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: a, AdjacentShardToMerge: b }));
  await waitForStreamActive(kinesis, stream);
  return (await listShards(kinesis, stream)).map((s) => s.ShardId!).find((id) => !before.has(id))!;
}
