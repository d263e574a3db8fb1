import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, uniqueName, createStream, waitFor, credentials, region, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler } from '../support/scheduler.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { freePort } from '../../src/local/local-servers.ts';
import type { SchedulerConfig } from '../../src/index.ts';

// No region, credentials or profile may leak in from the machine: each case sets exactly what it tests.
for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[name];
process.env.AWS_CONFIG_FILE = '/nonexistent/ts-kcl-test-config';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/ts-kcl-test-credentials';
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const DESCRIBE_TABLE = 'DynamoDB_20120810.DescribeTable';
const LIST_SHARDS = 'Kinesis_20131202.ListShards';

/** What a start-up failure looks like to the user: the top message and how long it took. */
async function failure(config: Partial<SchedulerConfig>, env: TestEnv, warnings: string[] = []): Promise<{ message: string; ms: number }> {
  const scheduler = testScheduler(env, {
    applicationName: uniqueName('app'),
    streamName: uniqueName('stream'),
    processorFactory: recordingFactory(new Recorder()),
    // Java's defaults: 20 attempts a second apart, so a cause that was retried would take ~20 s.
    coordinator: { maxInitializationAttempts: 20, initializationBackoffMs: 1000 },
    logger: { debug: () => {}, info: () => {}, error: () => {}, warn: (o: object | string, m?: string) => void warnings.push(typeof o === 'string' ? o : (m ?? '')) },
    ...config,
  });
  const t0 = performance.now();
  try {
    await scheduler.run();
  } catch (err) {
    assert.equal((err as Error).name, 'InitializationError');
    return { message: (err as Error).message, ms: performance.now() - t0 };
  }
  throw new Error('start-up succeeded');
}

describe('start-up errors: causes no retry can fix fail at once, naming the cause and the fix (kinesalite, dynalite)', () => {
  let env: TestEnv;
  let dynamoProxy: FaultProxy;
  let kinesisProxy: FaultProxy;
  let proxied: { dynamodb: string; kinesis: string };
  before(async () => {
    env = await startEnv('kinesalite');
    dynamoProxy = new FaultProxy(env.servers.dynamodb.endpoint);
    kinesisProxy = new FaultProxy(env.servers.kinesis.endpoint);
    proxied = { dynamodb: await dynamoProxy.start(), kinesis: await kinesisProxy.start() };
  });
  after(async () => {
    await dynamoProxy?.stop();
    await kinesisProxy?.stop();
    await env?.close();
  });

  it('a stream that does not exist: Kinesis and the stream, at once', async () => {
    const stream = uniqueName('missing');
    const { message, ms } = await failure({ streamName: stream }, env);
    assert.equal(message, `Kinesis stream ${stream} does not exist (create it, or check the name and clientConfig.region)`);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  it('no region: DynamoDB and the table, with the fix', async () => {
    const app = uniqueName('app');
    const { message, ms } = await failure({ applicationName: app, clientConfig: { credentials, endpoints: env.clientConfig.endpoints } }, env);
    assert.equal(message, `DynamoDB DescribeTable ${app} failed: Region is missing (set clientConfig.region or AWS_REGION)`);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  it('no credentials anywhere', async () => {
    const { message, ms } = await failure({ clientConfig: { region, endpoints: env.clientConfig.endpoints } }, env);
    assert.match(message, /^DynamoDB DescribeTable \S+ failed: .*credentials.* \(set clientConfig\.credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE\)$/);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  it('a malformed endpoint URL', async () => {
    const { message, ms } = await failure({ clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, dynamodb: '127.0.0.1:4568' } } }, env);
    assert.match(message, /^DynamoDB DescribeTable \S+ failed: .*\(check clientConfig\.endpoints/);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  it('access denied by DynamoDB (the real error body, through the fault proxy)', async () => {
    const endpoint = proxied.dynamodb;
    const denied = 'User: arn:aws:iam::000000000000:user/app is not authorized to perform: dynamodb:DescribeTable';
    dynamoProxy.inject(DESCRIBE_TABLE, { status: 400, type: 'AccessDeniedException', message: denied }, { times: 1000 });
    try {
      const app = uniqueName('app');
      const { message, ms } = await failure({ applicationName: app, clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, dynamodb: endpoint } } }, env);
      assert.equal(message, `DynamoDB DescribeTable ${app} failed: ${denied} (grant the worker's IAM identity the Kinesis and DynamoDB permissions the README lists)`);
      assert.ok(ms < 2000, `${ms} ms`);
      assert.equal(dynamoProxy.count(DESCRIBE_TABLE), 1, 'asked once, never retried');
    } finally {
      dynamoProxy.clear(DESCRIBE_TABLE);
    }
  });

  it('a rejected token on Kinesis: Kinesis and the stream, not DynamoDB', async () => {
    const endpoint = proxied.kinesis;
    const invalid = 'The security token included in the request is invalid.';
    kinesisProxy.inject(LIST_SHARDS, { status: 400, type: 'UnrecognizedClientException', message: invalid }, { times: 1000 });
    try {
      const stream = uniqueName('stream');
      await createStream(env.kinesis, stream, 1);
      const { message, ms } = await failure({ streamName: stream, clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, kinesis: endpoint } } }, env);
      assert.equal(message, `Kinesis ListShards on ${stream} failed: ${invalid} (the credentials were rejected: check the access key, secret, session token and region)`);
      assert.ok(ms < 2000, `${ms} ms`);
    } finally {
      kinesisProxy.clear(LIST_SHARDS);
    }
  });

  it('a refused connection is retried, one WARN per attempt naming the cause, then fails naming it', async () => {
    const warnings: string[] = [];
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { message } = await failure(
      { clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, dynamodb: closed } }, coordinator: { maxInitializationAttempts: 3, initializationBackoffMs: 50 } },
      env,
      warnings,
    );
    assert.match(message, /^DynamoDB DescribeTable \S+ failed: .*ECONNREFUSED.* \(after 3 attempts\)$/);
    assert.equal(warnings.length, 3, warnings.join('\n'));
    warnings.forEach((w, i) => assert.match(w, new RegExp(`^Start-up attempt ${i + 1} of 3 failed: DynamoDB DescribeTable \\S+ failed: .*ECONNREFUSED`)));
  });

  it('a 5xx that passes is retried and start-up then succeeds', async () => {
    const endpoint = proxied.dynamodb;
    // Failing until the first start-up attempt gave up (whatever the SDK's own retries), then healed.
    dynamoProxy.inject(DESCRIBE_TABLE, { status: 500, type: 'InternalServerError', message: 'Internal server error' }, { times: 1000 });
    const warnings: string[] = [];
    const stream = uniqueName('stream');
    await createStream(env.kinesis, stream, 1);
    const scheduler = testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: stream,
      processorFactory: recordingFactory(new Recorder()),
      clientConfig: { ...env.clientConfig, endpoints: { ...env.clientConfig.endpoints, dynamodb: endpoint } },
      coordinator: { maxInitializationAttempts: 3, initializationBackoffMs: 1000 },
      logger: { debug: () => {}, info: () => {}, error: () => {}, warn: (o: object | string, m?: string) => void warnings.push(typeof o === 'string' ? o : (m ?? '')) },
    });
    const started = new Promise<void>((resolve) => scheduler.on('stateChange', (s) => s === 'STARTED' && resolve()));
    const running = scheduler.run();
    running.catch(() => undefined);
    try {
      await waitFor(() => warnings.length > 0, 'the first attempt to fail', 30000);
      dynamoProxy.clear(DESCRIBE_TABLE);
      await started;
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, /^Start-up attempt 1 of 3 failed: DynamoDB DescribeTable \S+ failed: Internal server error/);
    } finally {
      await scheduler.shutdown();
    }
  });
});
