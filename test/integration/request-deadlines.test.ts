import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startEnv, uniqueName, createStream, credentials, region, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler } from '../support/scheduler.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { settlesWithin } from '../../src/common/backoff.ts';

const DESCRIBE_TABLE = 'DynamoDB_20120810.DescribeTable';

describe('a DynamoDB endpoint that accepts calls but never answers (kinesalite, dynalite)', () => {
  let env: TestEnv;
  let proxy: FaultProxy;
  let dynamodb: string;
  before(async () => {
    env = await startEnv('kinesalite');
    proxy = new FaultProxy(env.servers.dynamodb.endpoint);
    dynamodb = await proxy.start();
  });
  after(async () => {
    await proxy?.stop();
    await env?.close();
  });

  const worker = async (extra: { lease?: { dynamoDbRequestTimeoutMs?: number }; dynamoDBClient?: DynamoDBClient } = {}) => {
    const stream = uniqueName('deadline');
    await createStream(env.kinesis, stream, 1);
    return testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: stream,
      clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, dynamodb } },
      processorFactory: recordingFactory(new Recorder()),
      coordinator: { maxInitializationAttempts: 2, initializationBackoffMs: 50 },
      ...extra,
    });
  };

  it('start-up gives up after the request deadline and its retries, naming the timeout', async () => {
    proxy.inject(DESCRIBE_TABLE, 'hang', { times: 1000 });
    try {
      const scheduler = await worker({ lease: { dynamoDbRequestTimeoutMs: 300 } });
      const running = scheduler.run();
      running.catch(() => undefined);
      assert.ok(await settlesWithin(running, 10000), 'start-up ended instead of hanging');
      await assert.rejects(running, (err: Error) => /DescribeTable/.test(err.message) || /got no answer within 300 ms/.test(String((err.cause as Error | undefined)?.message)));
    } finally {
      proxy.clear(DESCRIBE_TABLE);
    }
  });

  it('shutdown() during a call that is never answered ends start-up at once (Ctrl-C works)', async () => {
    proxy.inject(DESCRIBE_TABLE, 'hang', { times: 1000 });
    try {
      // A borrowed client (never destroyed by the worker) and the default 60 s deadline: only the worker's
      // abort signal on the call can end it in time.
      const borrowed = new DynamoDBClient({ region, credentials, endpoint: dynamodb });
      const scheduler = await worker({ dynamoDBClient: borrowed });
      const running = scheduler.run();
      running.catch(() => undefined);
      const t0 = performance.now();
      while (proxy.count(DESCRIBE_TABLE) === 0) await new Promise((r) => setTimeout(r, 20));
      await scheduler.shutdown();
      assert.ok(await settlesWithin(running, 3000), 'run() settled soon after shutdown()');
      assert.ok(performance.now() - t0 < 5000);
      borrowed.destroy();
    } finally {
      proxy.clear(DESCRIBE_TABLE);
    }
  });
});
