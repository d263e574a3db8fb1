import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, waitFor, createStream, putRecords, makeRecords, splitShard, listShards, type TestEnv } from '../support/env.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import type { Scheduler, StreamConfig } from '../../src/index.ts';
import { streamRecorder } from '../support/recording-processor.ts';
import { isLeaseItem } from '../../src/leases/dynamodb/lease-serializer.ts';

const epochOf = async (env: TestEnv, stream: string): Promise<number> => {
  const d = await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
  return Math.floor(d.StreamDescriptionSummary!.StreamCreationTimestamp!.getTime() / 1000);
};

const scanLeases = async (env: TestEnv, table: string): Promise<Record<string, { S?: string; N?: string; SS?: string[] }>[]> =>
  ((await env.dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? []).filter(isLeaseItem);

describe('multi-stream mode (kinesalite + dynalite)', () => {
  let env: TestEnv;
  const schedulers: Scheduler[] = [];
  before(async () => {
    env = await startEnv('kinesalite');
  });
  after(async () => {
    await Promise.all(schedulers.map((s) => s.shutdown()));
    await env.close();
  });
  const worker = (config: Parameters<typeof testScheduler>[1]): Scheduler => {
    const s = testScheduler(env, { lease: { shardSyncIntervalMs: 1000, failoverTimeMs: 3000 }, ...config });
    schedulers.push(s);
    return s;
  };

  it('one application over three streams with two workers: balanced, Java lease keys, every record once per stream', async () => {
    const app = uniqueName('multi');
    const names = [uniqueName('ms-a'), uniqueName('ms-b'), uniqueName('ms-c')];
    await Promise.all(names.map((n, i) => createStream(env.kinesis, n, i + 2)));
    for (const n of names) await putRecords(env.kinesis, n, makeRecords(30, n));
    const rec = streamRecorder();
    const streams: StreamConfig[] = names.map((streamName) => ({ streamName }));
    const a = worker({ applicationName: app, streams, workerId: 'a', processorFactory: rec.factory });
    const b = worker({ applicationName: app, streams, workerId: 'b', processorFactory: rec.factory });
    void start(a);
    void start(b);
    const expected = names.flatMap((n) => makeRecords(30, n).map((r) => `${n}/${r.data}`));
    await waitFor(() => expected.every((e) => rec.seen.includes(e)), 'every record of the three streams', 60000);
    await waitFor(() => a.heldShardIds().length + b.heldShardIds().length === 9 && Math.abs(a.heldShardIds().length - b.heldShardIds().length) <= 1, 'the 9 leases balanced 5/4');
    // At least once: a lease stolen while balancing redelivers what its first owner had not checkpointed.

    const items = await scanLeases(env, app);
    assert.equal(items.length, 9);
    for (const item of items) {
      const key = item.leaseKey!.S!;
      const m = /^(\d+):([^:]+):(\d+):(shardId-\d+)$/.exec(key);
      assert.ok(m, `multi-stream lease key ${key}`);
      assert.equal(item.streamName?.S, `${m[1]}:${m[2]}:${m[3]}`, 'streamName holds the serialized StreamIdentifier');
      assert.equal(item.shardId?.S, m[4]);
      assert.equal(Number(m[3]), await epochOf(env, m[2]!), 'the creation epoch is the stream creation time in seconds');
    }
    assert.ok(a.heldShardIds().every((k) => k.includes(':shardId-')), 'events and held ids name the stream');
  });

  it('a stream added at run time is picked up within a sync interval; a removed one has its leases deleted after the wait; a restart resumes from checkpoints', async () => {
    const app = uniqueName('multi-dyn');
    const [s1, s2] = [uniqueName('dyn-1'), uniqueName('dyn-2')];
    await createStream(env.kinesis, s1, 2);
    await createStream(env.kinesis, s2, 2);
    await putRecords(env.kinesis, s1, makeRecords(10, s1));
    await putRecords(env.kinesis, s2, makeRecords(10, s2));
    let listed: StreamConfig[] = [{ streamName: s1 }];
    const rec = streamRecorder();
    const config = {
      applicationName: app,
      streams: () => Promise.resolve(listed),
      workerId: 'w',
      multiStream: { formerStreamsLeasesDeletionStrategy: { type: 'FORMER_STREAMS_AUTO_DETECTION_DEFERRED_DELETION' as const, waitPeriodToDeleteFormerStreamsMs: 2000 } },
      processorFactory: rec.factory,
    };
    const w = worker(config);
    void start(w);
    await waitFor(() => makeRecords(10, s1).every((r) => rec.seen.includes(`${s1}/${r.data}`)), 'the first stream consumed');
    assert.ok(!rec.seen.some((s) => s.startsWith(`${s2}/`)), 'an unlisted stream is not read');

    listed = [{ streamName: s1 }, { streamName: s2 }];
    const added = Date.now();
    await waitFor(() => makeRecords(10, s2).every((r) => rec.seen.includes(`${s2}/${r.data}`)), 'the added stream consumed', 20000);
    assert.ok(Date.now() - added < 1000 + 8000, 'picked up within about one sync interval');

    // Restart: both streams resume from their checkpoints (nothing delivered again).
    await w.startGracefulShutdown();
    const before = rec.seen.length;
    const w2 = worker(config);
    void start(w2);
    await waitFor(() => w2.heldShardIds().length === 4, 'the restarted worker holding all 4 leases');
    await putRecords(env.kinesis, s1, [{ partitionKey: 'x', data: `${s1}-after` }]);
    await waitFor(() => rec.seen.includes(`${s1}/${s1}-after`), 'a record written after the restart');
    assert.deepEqual(rec.seen.slice(before), [`${s1}/${s1}-after`], 'nothing redelivered after the restart');
    assert.ok(rec.initialized.slice(-4).every((i) => !i.endsWith('@TRIM_HORIZON')), 'every shard resumed at a checkpoint');

    // Removed: after the wait, its leases go; the other stream's stay.
    listed = [{ streamName: s1 }];
    const removed = Date.now();
    await waitFor(async () => (await scanLeases(env, app)).every((i) => !i.leaseKey!.S!.includes(`:${s2}:`)), "the removed stream's leases deleted", 20000);
    assert.ok(Date.now() - removed >= 2000, 'not before the wait');
    assert.equal((await scanLeases(env, app)).length, 2, "the listed stream's leases stay");
  });

  it('a split in one stream is followed (parents first) without disturbing the other', async () => {
    const app = uniqueName('multi-split');
    const [s1, s2] = [uniqueName('sp-1'), uniqueName('sp-2')];
    await createStream(env.kinesis, s1, 1);
    await createStream(env.kinesis, s2, 2);
    await putRecords(env.kinesis, s1, makeRecords(10, `${s1}-pre`));
    const rec = streamRecorder();
    const w = worker({ applicationName: app, streams: [{ streamName: s1 }, { streamName: s2 }], workerId: 'w', processorFactory: rec.factory });
    void start(w);
    await waitFor(() => w.heldShardIds().length === 3, 'the three leases held');
    await waitFor(() => rec.seen.filter((s) => s.includes('-pre-')).length === 10, 'the records before the split');
    const [parent] = await listShards(env.kinesis, s1);
    const children = await splitShard(env.kinesis, s1, parent!.ShardId!);
    await putRecords(env.kinesis, s1, makeRecords(20, `${s1}-post`));
    await putRecords(env.kinesis, s2, makeRecords(10, `${s2}-x`));
    await waitFor(() => rec.seen.filter((s) => s.includes('-post-') || s.includes(`${s2}-x`)).length === 30, 'records after the split, in both streams', 30000);
    const childInits = rec.initialized.filter((i) => children.some((c) => i.startsWith(`${s1}/${c}@`)));
    assert.equal(childInits.length, 2);
    assert.ok(childInits.every((i) => i.endsWith('@TRIM_HORIZON')), 'children start at TRIM_HORIZON');
    assert.equal(rec.initialized.filter((i) => i.startsWith(`${s2}/`)).length, 2, 'the other stream was not restarted');
  });

  it('a stream deleted and recreated under its name is a new stream: the old leases are deleted, never read', async () => {
    const app = uniqueName('multi-recreate');
    const name = uniqueName('re');
    await createStream(env.kinesis, name, 1);
    await putRecords(env.kinesis, name, makeRecords(5, 'old'));
    const rec = streamRecorder();
    const config = { applicationName: app, streams: [{ streamName: name }], workerId: 'w', processorFactory: rec.factory };
    const w = worker(config);
    void start(w);
    await waitFor(() => rec.seen.filter((s) => s.includes('/old-')).length === 5, 'the old stream consumed');
    await w.shutdown();
    const oldKeys = (await scanLeases(env, app)).map((i) => i.leaseKey!.S!);
    const oldEpoch = await epochOf(env, name);
    await env.kinesis.send(new DeleteStreamCommand({ StreamName: name }));
    await waitFor(async () => {
      try {
        await env.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
        return false;
      } catch {
        return true;
      }
    }, 'the stream deleted');
    // The identifier has second resolution, and kinesalite dates a stream 2 s before its creation
    // (createStream's SEQ_ADJUST_MS): recreated sooner, it would be the same stream, old checkpoint and all.
    await waitFor(() => Math.floor((Date.now() - 2000) / 1000) > oldEpoch, 'a creation second after the old one', 10000, 100);
    await createStream(env.kinesis, name, 1);
    assert.ok((await epochOf(env, name)) > oldEpoch, 'the recreated stream has its own creation time');
    await putRecords(env.kinesis, name, makeRecords(5, 'new'));
    const w2 = worker(config);
    void start(w2);
    await waitFor(() => rec.seen.filter((s) => s.includes('/new-')).length === 5, 'the new stream consumed from its start', 30000);
    await waitFor(async () => (await scanLeases(env, app)).every((i) => !oldKeys.includes(i.leaseKey!.S!)), 'the old stream leases deleted', 20000);
    assert.equal(rec.seen.filter((s) => s.includes('/old-')).length, 5, 'old records not read again');
  });

  it('a single-stream table is never read as multi-stream, nor the reverse: start-up fails at once naming the fix', async () => {
    const app = uniqueName('mode');
    const name = uniqueName('mode-s');
    await createStream(env.kinesis, name, 1);
    const rec = streamRecorder();
    const single = worker({ applicationName: app, streamName: name, workerId: 'single', processorFactory: rec.factory });
    void start(single);
    await waitFor(() => single.heldShardIds().length === 1, 'the single-stream lease');
    await single.shutdown();
    const started = Date.now();
    await assert.rejects(worker({ applicationName: app, streams: [{ streamName: name }], workerId: 'multi', processorFactory: rec.factory }).run(), /holds single-stream leases .*multi-stream mode.*another applicationName/);
    assert.ok(Date.now() - started < 5000, 'no retries');

    const app2 = uniqueName('mode2');
    const multi = worker({ applicationName: app2, streams: [{ streamName: name }], workerId: 'multi', processorFactory: rec.factory });
    void start(multi);
    await waitFor(() => multi.heldShardIds().length === 1, 'the multi-stream lease');
    await multi.shutdown();
    await assert.rejects(worker({ applicationName: app2, streamName: name, workerId: 'single2', processorFactory: rec.factory }).run(), /holds multi-stream leases .*single-stream mode/);
  });
});
