import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { FanOutConsumerRegistration, type ConsumerRegistrationOptions } from '../../src/retrieval/fanout/consumer-registration.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { KinesisClientLibDependencyException } from '../../src/errors.ts';

const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/s';
const CONSUMER_ARN = `${STREAM_ARN}/consumer/app:1700000000`;

const awsError = (name: string): Error => Object.assign(new Error(name), { name });

type Handler = (input: Record<string, unknown>) => unknown;

/** A Kinesis client answering each command by name; records every call. */
function fakeKinesis(handlers: Record<string, Handler>): { client: KinesisClient; calls: { command: string; input: Record<string, unknown> }[] } {
  const calls: { command: string; input: Record<string, unknown> }[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.push({ command: name, input: command.input });
      const handler = handlers[name];
      if (!handler) throw new Error(`unexpected ${name}`);
      await new Promise((r) => setImmediate(r));
      return handler(command.input);
    },
  };
  return { client: client as unknown as KinesisClient, calls };
}

const FAST: Partial<ConsumerRegistrationOptions> = { retryBackoffMs: 1, random: () => 0 };
const registration = (client: KinesisClient, opts: { streamArn?: boolean; consumerArn?: string; options?: Partial<ConsumerRegistrationOptions> } = {}): FanOutConsumerRegistration =>
  new FanOutConsumerRegistration(
    client,
    opts.streamArn === false ? { streamName: 's' } : { streamArn: STREAM_ARN, streamName: 's' },
    'app',
    opts.consumerArn,
    silentLogger,
    { ...FAST, ...opts.options },
  );

const active = { ConsumerDescription: { ConsumerName: 'app', ConsumerARN: CONSUMER_ARN, ConsumerStatus: 'ACTIVE', StreamARN: STREAM_ARN } };

describe('FanOutConsumerRegistration', () => {
  // The registration's backoff timers are unref'd so they never hold a process whose Scheduler has shut
  // down; a running Scheduler keeps the event loop alive, here this interval does.
  let keepAlive: NodeJS.Timeout;
  before(() => void (keepAlive = setInterval(() => undefined, 1000)));
  after(() => clearInterval(keepAlive));

  it('gives every Describe/Register call a deadline: an unanswered one fails in time, and the next caller tries again', async () => {
    let answered = false;
    const calls: string[] = [];
    const client = {
      send: (command: { constructor: { name: string } }, options?: { abortSignal?: AbortSignal }) => {
        calls.push(command.constructor.name);
        if (answered) return Promise.resolve(active);
        // Accepted, never answered: only the caller's abort ends it.
        return new Promise((_, reject) => options?.abortSignal?.addEventListener('abort', () => reject(awsError('AbortError')), { once: true }));
      },
    } as unknown as KinesisClient;
    const r = registration(client, { options: { requestTimeoutMs: 50 } });
    await assert.rejects(r.consumerArn(), (err: Error) => err instanceof KinesisClientLibDependencyException && /no answer within 50 ms/.test(err.message));
    answered = true;
    assert.equal(await r.consumerArn(), CONSUMER_ARN);
    assert.deepEqual(calls, ['DescribeStreamConsumerCommand', 'DescribeStreamConsumerCommand']);
  });

  it('uses a configured consumerArn without calling Kinesis', async () => {
    const { client, calls } = fakeKinesis({});
    assert.equal(await registration(client, { consumerArn: 'arn:given' }).consumerArn(), 'arn:given');
    assert.equal(calls.length, 0);
  });

  it('describes an existing ACTIVE consumer, finding the stream ARN with DescribeStreamSummary when only the name is known', async () => {
    const { client, calls } = fakeKinesis({
      DescribeStreamSummary: () => ({ StreamDescriptionSummary: { StreamARN: STREAM_ARN } }),
      DescribeStreamConsumer: () => active,
    });
    assert.equal(await registration(client, { streamArn: false }).consumerArn(), CONSUMER_ARN);
    assert.deepEqual(calls, [
      { command: 'DescribeStreamSummary', input: { StreamName: 's' } },
      { command: 'DescribeStreamConsumer', input: { StreamARN: STREAM_ARN, ConsumerName: 'app' } },
    ]);
  });

  it('registers a missing consumer and waits until it is ACTIVE', async () => {
    let polls = 0;
    const { client, calls } = fakeKinesis({
      DescribeStreamConsumer: (input) => {
        if (input.ConsumerName) throw awsError('ResourceNotFoundException');
        assert.equal(input.ConsumerARN, CONSUMER_ARN);
        return { ConsumerDescription: { ...active.ConsumerDescription, ConsumerStatus: ++polls < 3 ? 'CREATING' : 'ACTIVE' } };
      },
      RegisterStreamConsumer: (input) => {
        assert.deepEqual(input, { StreamARN: STREAM_ARN, ConsumerName: 'app' });
        return { Consumer: { ConsumerName: 'app', ConsumerARN: CONSUMER_ARN, ConsumerStatus: 'CREATING' } };
      },
    });
    assert.equal(await registration(client).consumerArn(), CONSUMER_ARN);
    assert.deepEqual(calls.map((c) => c.command), ['DescribeStreamConsumer', 'RegisterStreamConsumer', 'DescribeStreamConsumer', 'DescribeStreamConsumer', 'DescribeStreamConsumer']);
  });

  it('a worker that loses the register race (ResourceInUse) describes the winner’s consumer', async () => {
    let describes = 0;
    const { client, calls } = fakeKinesis({
      DescribeStreamConsumer: () => {
        if (describes++ === 0) throw awsError('ResourceNotFoundException');
        return active;
      },
      RegisterStreamConsumer: () => {
        throw awsError('ResourceInUseException');
      },
    });
    assert.equal(await registration(client).consumerArn(), CONSUMER_ARN);
    assert.deepEqual(calls.map((c) => c.command), ['DescribeStreamConsumer', 'RegisterStreamConsumer', 'DescribeStreamConsumer']);
  });

  it('retries LimitExceeded after retryBackoffMs plus 0-100 ms of jitter, a bounded number of times', async () => {
    let throttles = 2;
    const waits: number[] = [];
    const { client } = fakeKinesis({
      DescribeStreamConsumer: () => {
        if (throttles-- > 0) throw awsError('LimitExceededException');
        return active;
      },
    });
    const started = performance.now();
    assert.equal(await registration(client, { options: { retryBackoffMs: 20, random: () => 0.5 } }).consumerArn(), CONSUMER_ARN);
    waits.push(performance.now() - started);
    assert.ok(waits[0]! >= 2 * (20 + 50) - 5, `two waits of 20 + 50 ms (took ${waits[0]!.toFixed(0)} ms)`);

    const forever = fakeKinesis({
      DescribeStreamConsumer: () => {
        throw awsError('LimitExceededException');
      },
    });
    await assert.rejects(registration(forever.client, { options: { maxDescribeStreamConsumerRetries: 4 } }).consumerArn(), (err: unknown) => {
      assert.ok(err instanceof KinesisClientLibDependencyException);
      assert.equal((err.cause as Error).name, 'LimitExceededException');
      return true;
    });
    assert.equal(forever.calls.length, 4);
  });

  it('fails when the consumer never becomes ACTIVE', async () => {
    const { client } = fakeKinesis({
      DescribeStreamConsumer: () => ({ ConsumerDescription: { ...active.ConsumerDescription, ConsumerStatus: 'CREATING' } }),
    });
    await assert.rejects(registration(client, { options: { maxDescribeStreamConsumerRetries: 3 } }).consumerArn(), /still CREATING after 3 checks/);
  });

  it('registers once for every shard; a failure is forgotten so the next caller retries; forget() re-resolves a stale ARN', async () => {
    let fail = true;
    let arn = CONSUMER_ARN;
    const { client, calls } = fakeKinesis({
      DescribeStreamConsumer: () => {
        if (fail) throw awsError('AccessDeniedException');
        return { ConsumerDescription: { ...active.ConsumerDescription, ConsumerARN: arn } };
      },
    });
    const r = registration(client);
    await assert.rejects(r.consumerArn(), KinesisClientLibDependencyException);
    fail = false;
    const arns = await Promise.all([r.consumerArn(), r.consumerArn(), r.consumerArn()]);
    assert.deepEqual(arns, [CONSUMER_ARN, CONSUMER_ARN, CONSUMER_ARN]);
    assert.equal(calls.length, 2, 'one failed describe, then one for all three callers');
    r.forget('arn:something-else');
    assert.equal(await r.consumerArn(), CONSUMER_ARN);
    assert.equal(calls.length, 2, 'forgetting another ARN changes nothing');
    arn = `${CONSUMER_ARN}9`;
    r.forget(CONSUMER_ARN);
    assert.equal(await r.consumerArn(), arn);
    assert.equal(calls.length, 3);
  });

  it("a caller's abort stops only its own wait", async () => {
    const { client } = fakeKinesis({ DescribeStreamConsumer: () => active });
    const r = registration(client);
    const ac = new AbortController();
    const mine = r.consumerArn(ac.signal);
    ac.abort(new Error('lease lost'));
    await assert.rejects(mine, /lease lost/);
    assert.equal(await r.consumerArn(), CONSUMER_ARN);
  });
});
