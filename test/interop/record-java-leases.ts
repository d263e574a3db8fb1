// Records the lease-table items the real Java KCL writes, as test/fixtures/java-kcl-<version>[-3x]-leases.json
// (checked by test/unit/java-lease-fixture.test.ts, no JVM needed). Run again after a KCL upgrade:
//   node --import tsx test/interop/record-java-leases.ts 2.7.2 | 3.5.1 | 3.5.1-3x | 2.7.2-multi
// One Java worker on a 2-shard stream: a new lease, a running one, a prepared checkpoint in the middle of
// a KPL aggregate (with application state), a split (SHARD_END with childShardIds, children with
// parentShardId), and for 3.x its other items. The table is scanned every 25 ms; the first item seen in
// each state is kept.
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, putRecords, waitFor, splitShard, listShards } from '../support/env.ts';
import { aggregate } from '../../src/retrieval/aggregation/index.ts';
import { buildJavaWorker, type KclVersion } from './java-build.ts';
import { Fleet, createTableWith3xIndex } from './fleet.ts';
import { StreamTracker } from '../../src/multistream/stream-tracker.ts';

type Item = Record<string, AttributeValue>;

/** The state an item shows, or undefined for a state already covered by another name. */
function stateOf(item: Item): string {
  const type = item.entityType?.S;
  if (type !== undefined && type !== 'LEASE') return `other:${type}`;
  const cp = item.checkpoint?.S;
  if (item.pendingCheckpoint) return 'pendingCheckpoint';
  if (cp === 'SHARD_END') return item.childShardIds ? 'shardEnd' : 'shardEndNoChildren';
  if (item.parentShardId) return item.leaseOwner ? (cp === 'TRIM_HORIZON' ? 'childTaken' : 'childRunning') : 'childNew';
  if (!item.leaseOwner) return 'new';
  return cp === 'TRIM_HORIZON' ? 'taken' : 'running';
}

/** DynamoDB JSON as the AWS CLI prints it: binary as base64. */
const toJson = (item: Item): Record<string, unknown> =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.B ? { B: Buffer.from(v.B).toString('base64') } : v]));

const arg = process.argv[2] ?? '2.7.2';
const version = arg.replace(/-3x$|-multi$/, '') as KclVersion;
const mode = arg.endsWith('-3x') ? '3x' : undefined;
/** Multi-stream mode: the same states, in one of two streams the worker tracks (a MultiStreamTracker). */
const multi = arg.endsWith('-multi');
const env = await startEnv('kinesis-local');
const fleet = new Fleet();
try {
  const java = await buildJavaWorker(version);
  const stream = uniqueName('fixture');
  const app = uniqueName('fixture-app');
  await createStream(env.kinesis, stream, 2);
  const other = uniqueName('fixture-other');
  if (multi) await createStream(env.kinesis, other, 1);
  const streamIds = multi ? await Promise.all([stream, other].map((s) => new StreamTracker([], env.kinesis, 'LATEST', 10000).describe({ streamName: s }).then((t) => t.identifier))) : undefined;
  // dynalite refuses the on-demand UpdateTable that adds 3.x's index: create the table with it.
  if (mode === '3x') await createTableWith3xIndex(env.dynamodb, app);
  const seen = new Map<string, Item>();
  let scanning = true;
  const scanner = (async () => {
    while (scanning) {
      const out = await env.dynamodb.send(new ScanCommand({ TableName: app, ConsistentRead: true })).catch(() => undefined);
      for (const item of out?.Items ?? []) if (!seen.has(stateOf(item)) && (!multi || item.leaseKey?.S?.includes(`:${stream}:`))) seen.set(stateOf(item), item);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();

  fleet.spawnJava(java, 'java-fixture', { stream, app, endpoints: env.clientConfig.endpoints, cbor: true, prepareOn: 'agg-5', ...(mode ? { clientVersion: mode } : {}), ...(streamIds ? { streamIds } : {}) });
  await waitFor(() => fleet.of('java-fixture', 'init').length === (multi ? 3 : 2), 'the Java worker holds every shard', 120000, 100);
  const [s0, s1] = (await listShards(env.kinesis, stream)).map((s) => s.HashKeyRange!.StartingHashKey!);
  // Shard 0: one aggregate of ten user records (one hash key, so none is filtered out); the worker prepares at the sixth.
  const [packed] = aggregate(Array.from({ length: 10 }, (_, i) => ({ partitionKey: 'agg', explicitHashKey: s0!, data: Buffer.from(`agg-${i}`) })));
  const { PutRecordCommand } = await import('@aws-sdk/client-kinesis');
  await env.kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: packed!.partitionKey, ExplicitHashKey: s0!, Data: packed!.data }));
  // Shard 1: plain records, checkpointed; then it is split.
  await putRecords(env.kinesis, stream, Array.from({ length: 5 }, (_, i) => ({ partitionKey: `p${i}`, explicitHashKey: s1!, data: `plain-${i}` })));
  await waitFor(() => fleet.of('java-fixture', 'prepared').length > 0 && fleet.of('java-fixture', 'cp').length > 0, 'a prepared and a plain checkpoint', 60000, 100);
  const shard1 = fleet.of('java-fixture', 'cp')[0]!.shardId!;
  const children = await splitShard(env.kinesis, stream, shard1);
  const { HashKeyRange } = (await listShards(env.kinesis, stream)).find((s) => s.ShardId === children[0])!;
  await putRecords(env.kinesis, stream, Array.from({ length: 5 }, (_, i) => ({ partitionKey: `c${i}`, explicitHashKey: HashKeyRange!.StartingHashKey!, data: `child-${i}` })));
  await waitFor(() => seen.has('shardEnd') && seen.has('childRunning'), 'SHARD_END and a running child', 60000, 100);
  await new Promise((r) => setTimeout(r, 3000)); // 3.x writes its other items on its own schedule
  scanning = false;
  await scanner;
  const out = fileURLToPath(new URL(`../fixtures/java-kcl-${arg}-leases.json`, import.meta.url));
  mkdirSync(fileURLToPath(new URL('../fixtures/', import.meta.url)), { recursive: true });
  const states = Object.fromEntries([...seen].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, toJson(v)]));
  writeFileSync(out, JSON.stringify({ recordedWith: `amazon-kinesis-client ${version}${mode ? ' (3.x mode)' : version.startsWith('3') ? ' (CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X)' : ''}${multi ? ' (multi-stream mode, MultiStreamTracker)' : ''}`, items: states }, null, 2) + '\n');
  console.log(`wrote ${out}: ${Object.keys(states).join(', ')}`);
  const errors = fleet.events.filter((e) => e.t === 'log');
  if (errors.length) console.log(errors.map((e) => String(e.msg)).join('\n'));
} finally {
  await fleet.stopAll();
  await env.close();
}
