import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MultiLangDaemon } from '../../src/multilang/daemon.ts';
import { readMultiLangProperties } from '../../src/multilang/daemon-config.ts';
import { Scheduler } from '../../src/coordinator/scheduler.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, splitShard, credentials, type TestEnv, type PutResult } from '../support/env.ts';
import { awsKcl } from './toolchains.ts';
import { tempDir, writeProperties, leaseRows, readEvents, captureLogger } from './harness.ts';

// The daemon reads credentials as the Java daemon's EnvironmentVariableCredentialsProvider does.
process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;

const PROCESSOR = join(import.meta.dirname, 'aws-kcl-processor.cjs');
const toolchain = awsKcl();

interface Event {
  pid: number;
  event: 'initialize' | 'record' | 'checkpoint' | 'leaseLost' | 'shardEnded' | 'shutdownRequested';
  shardId: string;
  sequenceNumber?: string;
  data?: string;
  error?: string | null;
}

const lastPerShard = (puts: PutResult[]): Map<string, string> => new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));

describe('aws-kcl (npm) processors under ts-kcl multilang', { skip: toolchain.ok ? false : toolchain.reason, timeout: 120000 }, () => {
  let env: TestEnv;
  before(async () => (env = await startEnv()));
  after(async () => env?.close());

  function daemon(app: string, stream: string, extra: { killOnData?: string; properties?: Record<string, string> } = {}) {
    const dir = tempDir('ml-aws-kcl-');
    const eventsFile = join(dir, 'events.jsonl');
    const properties = writeProperties(dir, env, { executableName: `${process.execPath} ${PROCESSOR}`, applicationName: app, streamName: stream, ...extra.properties });
    const logger = captureLogger();
    const d = new MultiLangDaemon(readMultiLangProperties(properties), {
      logger,
      cwd: dir,
      env: { ...process.env, NODE_PATH: join(toolchain.ok ? toolchain.value : '', 'node_modules'), EVENTS_FILE: eventsFile, ...(extra.killOnData ? { KILL_ON_DATA: extra.killOnData } : {}) },
    });
    const running = d.run();
    return { d, running, logger, events: () => readEvents<Event>(eventsFile) };
  }

  it('processes every record, checkpoints where the processor put them, ends a split parent with shardEnded before its children start, and on graceful shutdown', async () => {
    const app = uniqueName('ml-node');
    const stream = uniqueName('ml-node');
    await createStream(env.kinesis, stream, 2);
    const first = await putRecords(env.kinesis, stream, makeRecords(200, 'a'));
    const { d, running, events } = daemon(app, stream, { properties: { workerId: 'ml-worker' } });
    const processed = (): Set<string> => new Set(events().filter((e) => e.event === 'record').map((e) => e.data!));
    await waitFor(() => first.every((p) => processed().has(p.data)), 'the first 200 records processed');
    for (const [shardId, seq] of lastPerShard(first)) {
      await waitFor(async () => (await leaseRows(env.dynamodb, app)).get(shardId)?.checkpoint === seq, `checkpoint of ${shardId} at its last record`);
    }
    const parent = first[0]!.shardId;
    const children = await splitShard(env.kinesis, stream, parent);
    const second = await putRecords(env.kinesis, stream, makeRecords(100, 'b'));
    await waitFor(() => second.every((p) => processed().has(p.data)), 'the 100 records put after the split processed', 60000);
    const all = events();
    const ended = all.findIndex((e) => e.event === 'shardEnded' && e.shardId === parent);
    assert.ok(ended >= 0, 'the parent child got shardEnded');
    assert.equal(all[ended]!.error, null);
    for (const child of children) {
      const started = all.findIndex((e) => e.event === 'initialize' && e.shardId === child);
      assert.ok(started > ended, `child ${child} started after its parent's shardEnded`);
    }
    assert.equal((await leaseRows(env.dynamodb, app)).get(parent)?.checkpoint ?? 'SHARD_END', 'SHARD_END');
    // Nothing delivered twice on a clean run.
    const records = all.filter((e) => e.event === 'record');
    assert.equal(records.length, new Set(records.map((e) => e.data)).size);

    assert.equal(await d.startGracefulShutdown(), true);
    await running;
    const live = [...new Set(second.map((p) => p.shardId))];
    const after = events();
    for (const shardId of live) {
      const i = after.findIndex((e) => e.event === 'shutdownRequested' && e.shardId === shardId);
      assert.ok(i >= 0 && after[i]!.error === null, `${shardId} got shutdownRequested and checkpointed`);
      assert.ok(after.findIndex((e) => e.event === 'leaseLost' && e.shardId === shardId) > i, `${shardId} got leaseLost after shutdownRequested, as from the Java daemon`);
    }
    const rows = await leaseRows(env.dynamodb, app);
    for (const [shardId, seq] of lastPerShard(second)) assert.equal(rows.get(shardId)?.checkpoint, seq);
    assert.ok([...rows.values()].every((r) => r.leaseOwner === undefined), 'leases released on graceful shutdown');
  });

  it('a child killed mid-batch: its lease is released and a new child restarts from the checkpoint', async () => {
    const app = uniqueName('ml-kill');
    const stream = uniqueName('ml-kill');
    await createStream(env.kinesis, stream, 1);
    const first = await putRecords(env.kinesis, stream, makeRecords(50, 'a'));
    const { d, running, events, logger } = daemon(app, stream, { killOnData: 'k-25' });
    await waitFor(async () => (await leaseRows(env.dynamodb, app)).get(first[0]!.shardId)?.checkpoint === first.at(-1)!.sequenceNumber, 'the first batch checkpointed');
    const second = await putRecords(env.kinesis, stream, makeRecords(50, 'k'));
    const processed = (): Set<string> => new Set(events().filter((e) => e.event === 'record').map((e) => e.data!));
    await waitFor(() => second.every((p) => processed().has(p.data)), 'every record processed after the kill', 60000);
    const inits = events().filter((e) => e.event === 'initialize');
    assert.equal(inits.length, 2, 'a second child was started');
    assert.notEqual(inits[0]!.pid, inits[1]!.pid);
    assert.equal(inits[1]!.sequenceNumber, first.at(-1)!.sequenceNumber, 'the new child starts at the checkpoint');
    const byFirstChild = events().filter((e) => e.event === 'record' && e.pid === inits[0]!.pid).map((e) => e.data);
    const bySecondChild = events().filter((e) => e.event === 'record' && e.pid === inits[1]!.pid).map((e) => e.data);
    assert.ok(byFirstChild.includes('k-24') && !byFirstChild.includes('k-25'), 'the first child died at k-25');
    assert.deepEqual(bySecondChild, second.map((p) => p.data), 'the uncheckpointed batch is delivered again, in order, from the checkpoint');
    assert.ok(logger.entries.some((e) => e.level === 'error' && /releasing the lease/.test(e.msg) && e.fields.shardId === first[0]!.shardId));
    await d.startGracefulShutdown();
    await running;
  });

  it('a lease taken by another worker reaches the child as leaseLost', async () => {
    const app = uniqueName('ml-steal');
    const stream = uniqueName('ml-steal');
    await createStream(env.kinesis, stream, 2);
    const { d, running, events } = daemon(app, stream, { properties: { workerId: 'ml-a' } });
    await waitFor(() => new Set(events().filter((e) => e.event === 'initialize').map((e) => e.shardId)).size === 2, 'the daemon holds both shards');
    const other = new Scheduler({
      applicationName: app,
      streamName: stream,
      workerId: 'ml-b',
      clientConfig: env.clientConfig,
      initialPosition: 'TRIM_HORIZON',
      lease: { failoverTimeMs: 10000, takerIntervalMs: 500 },
      logger: silentLogger,
      processorFactory: () => ({ initialize: () => {}, processRecords: () => {}, leaseLost: () => {}, shardEnded: ({ checkpointer }) => checkpointer.checkpoint(), shutdownRequested: () => {} }),
    });
    const otherRunning = other.run();
    const lost = await waitFor(() => events().find((e) => e.event === 'leaseLost'), 'leaseLost in a child', 30000);
    assert.equal((await leaseRows(env.dynamodb, app)).get(lost.shardId)?.leaseOwner, 'ml-b');
    await Promise.all([d.startGracefulShutdown(), other.startGracefulShutdown()]);
    await Promise.all([running, otherRunning]);
  });
});
