import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import { ScanCommand } from '@aws-sdk/client-dynamodb';

describe('a processor that throws or hangs cannot lose data silently or stop other shards', () => {
  let env: TestEnv;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown): void => void unhandled.push(err);
  before(async () => {
    env = await startEnv('kinesalite');
    process.on('unhandledRejection', onUnhandled);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await env?.close();
  });

  it("'skip' (the Java default): the failing batch is logged, reported with its shard, and skipped", async () => {
    const stream = uniqueName('skip');
    await createStream(env.kinesis, stream, 1);
    await putRecords(env.kinesis, stream, makeRecords(10, 'first'));
    const recorder = new Recorder();
    let thrown = 0;
    const logged: { obj: object; msg?: string }[] = [];
    const log = (obj: object | string, msg?: string): void => void (typeof obj === 'object' && logged.push({ obj, ...(msg !== undefined ? { msg } : {}) }));
    const scheduler = testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: stream,
      logger: { debug: () => {}, info: () => {}, warn: log, error: log },
      processorFactory: recordingFactory(recorder, {
        onRecords: (records) => {
          if (records.some((r) => Buffer.from(r.data).toString() === 'first-0') && thrown++ === 0) throw new Error('poison batch');
        },
      }),
    });
    const errors: (Error & { shardId?: string })[] = [];
    scheduler.on('error', (e) => errors.push(e));
    const running = start(scheduler);
    await waitFor(() => errors.length > 0, 'the error event');
    await putRecords(env.kinesis, stream, makeRecords(5, 'second'));
    await waitFor(() => recorder.deliveries.length >= 5, 'the next batch');
    await scheduler.startGracefulShutdown();
    await running;
    assert.equal(errors[0]!.message, 'poison batch');
    assert.equal(errors[0]!.shardId, 'shardId-000000000000');
    assert.ok(logged.some((l) => l.msg?.includes('processRecords threw') && (l.obj as { shardId?: string }).shardId === 'shardId-000000000000'), 'logged with the shard');
    assert.deepEqual(recorder.deliveries.map((d) => d.data), makeRecords(5, 'second').map((r) => r.data), 'the failed batch was skipped, not redelivered');
  });

  it("'retry': the same batch is delivered again until it succeeds; nothing is skipped", async () => {
    const stream = uniqueName('retry');
    await createStream(env.kinesis, stream, 1);
    await putRecords(env.kinesis, stream, makeRecords(10, 'r'));
    const recorder = new Recorder();
    let attempts = 0;
    const scheduler = testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: stream,
      processor: { onProcessRecordsError: 'retry' },
      processorFactory: recordingFactory(recorder, {
        onRecords: () => {
          if (++attempts <= 3) throw new Error(`attempt ${attempts} fails`);
        },
      }),
    });
    const errors: Error[] = [];
    scheduler.on('error', (e) => errors.push(e));
    const running = start(scheduler);
    await waitFor(() => recorder.deliveries.length >= 10, 'the batch after retries');
    await scheduler.startGracefulShutdown();
    await running;
    assert.equal(errors.length, 3);
    assert.deepEqual(recorder.deliveries.map((d) => d.data), makeRecords(10, 'r').map((r) => r.data));
  });

  it('a processor that never resolves stalls only its own shard, and shutdown() still completes', async () => {
    const stream = uniqueName('hang');
    await createStream(env.kinesis, stream, 2);
    const put = await putRecords(env.kinesis, stream, makeRecords(40, 'h'));
    const hungShard = put[0]!.shardId;
    const recorder = new Recorder();
    const scheduler = testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: stream,
      coordinator: { gracefulShutdownTimeoutMs: 1000 },
      processorFactory: recordingFactory(recorder, {
        onRecords: (_r, shardId) => {
          if (shardId !== hungShard) return undefined;
          hung = true;
          return new Promise<void>(() => {});
        },
      }),
    });
    let hung = false;
    const running = start(scheduler);
    const other = put.filter((p) => p.shardId !== hungShard).map((p) => p.data);
    await waitFor(() => hung && recorder.deliveries.length >= other.length, 'the healthy shard, and the other one hung');
    const t0 = Date.now();
    assert.equal(await scheduler.startGracefulShutdown(), false, 'the hung processor never finished shutdownRequested');
    await running;
    assert.ok(Date.now() - t0 < 5000, 'bounded by the shutdown timeout');
    assert.deepEqual(recorder.deliveries.map((d) => d.data), other);
  });

  it('a factory or initialize that throws is retried; the shard starts once it stops throwing', async () => {
    const stream = uniqueName('init');
    await createStream(env.kinesis, stream, 1);
    await putRecords(env.kinesis, stream, makeRecords(5, 'i'));
    const recorder = new Recorder();
    const inner = recordingFactory(recorder);
    let created = 0;
    const scheduler = testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: stream,
      processorFactory: (shard) => {
        if (++created === 1) throw new Error('factory failed');
        const p = inner(shard);
        let inits = 0;
        return { ...p, initialize: (input) => (++inits === 1 ? Promise.reject(new Error('init failed')) : p.initialize(input)) };
      },
    });
    const errors: Error[] = [];
    scheduler.on('error', (e) => errors.push(e));
    const running = start(scheduler);
    await waitFor(() => recorder.deliveries.length >= 5, 'records after the retries');
    await scheduler.shutdown();
    await running;
    assert.deepEqual(errors.map((e) => e.message), ['factory failed', 'init failed']);
  });

  it('a throwing or rejecting event listener is contained', async () => {
    const stream = uniqueName('listener');
    await createStream(env.kinesis, stream, 1);
    await putRecords(env.kinesis, stream, makeRecords(3, 'l'));
    const recorder = new Recorder();
    const scheduler = testScheduler(env, { applicationName: uniqueName('app'), streamName: stream, processorFactory: recordingFactory(recorder) });
    scheduler.on('leaseAcquired', () => {
      throw new Error('listener bug');
    });
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the point: a rejecting listener must be contained
    scheduler.on('stateChange', async () => {
      throw new Error('async listener bug');
    });
    const running = start(scheduler);
    await waitFor(() => recorder.deliveries.length >= 3, 'records despite the listeners');
    await scheduler.shutdown();
    await running;
  });

  it('left no unhandled rejection behind', () => {
    assert.deepEqual(unhandled, []);
  });
});

describe('start-up errors', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  it('run() rejects at once, naming the stream, when it does not exist (no retry can create it)', async () => {
    const scheduler = testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: 'no-such-stream',
      coordinator: { maxInitializationAttempts: 3, initializationBackoffMs: 50 },
      processorFactory: recordingFactory(new Recorder()),
    });
    const t0 = Date.now();
    await assert.rejects(scheduler.run(), (err: Error) => {
      assert.equal(err.name, 'InitializationError');
      assert.match(err.message, /no-such-stream/);
      assert.doesNotMatch(err.message, /attempts/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10000);
    // The lease table was still created (it belongs to the application, not the stream).
    const items = await env.dynamodb.send(new ScanCommand({ TableName: (scheduler as unknown as { config: { tableName: string } }).config.tableName }));
    assert.equal(items.Count, 0);
  });
});
