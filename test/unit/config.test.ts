import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, type SchedulerConfig } from '../../src/config.ts';
import { IllegalArgumentError } from '../../src/errors.ts';
import { silentLogger, type Logger } from '../../src/common/logger.ts';
import type { ShardRecordProcessorFactory } from '../../src/processor/shard-record-processor.ts';

const factory: ShardRecordProcessorFactory = () => ({
  initialize() {},
  processRecords() {},
  leaseLost() {},
  shardEnded() {},
  shutdownRequested() {},
});

const base = (extra: Partial<SchedulerConfig> = {}): SchedulerConfig => ({
  applicationName: 'my-app',
  streamName: 'my-stream',
  processorFactory: factory,
  ...extra,
});

/** Expects resolveConfig to throw IllegalArgumentError whose message names `SchedulerConfig.<field>`. */
function assertRejects(config: unknown, field: string, note = field): void {
  assert.throws(
    () => resolveConfig(config as SchedulerConfig),
    (err: unknown) => {
      assert.ok(err instanceof IllegalArgumentError, `${note}: ${String(err)}`);
      assert.ok(err.message.includes(`SchedulerConfig.${field}`), `${note}: message "${err.message}" should name SchedulerConfig.${field}`);
      return true;
    },
  );
}

describe('resolveConfig', () => {
  describe('defaults (the Java KCL 2.x ones)', () => {
    const c = resolveConfig(base());

    it('lease coordination', () => {
      assert.equal(c.lease.failoverTimeMs, 10000);
      assert.equal(c.lease.epsilonMs, 25);
      assert.equal(c.lease.renewerIntervalMs, 3308, 'failoverTimeMillis / 3 - epsilonMillis');
      assert.equal(c.lease.takerIntervalMs, 20050, '(failoverTimeMillis + epsilonMillis) * 2');
      assert.equal(c.lease.maxLeasesToStealAtOneTime, 1);
      assert.ok(c.lease.maxLeasesForWorker >= 2 ** 31 - 1, 'Java: Integer.MAX_VALUE');
      assert.equal(c.lease.shardSyncIntervalMs, 60000);
      assert.equal(c.lease.cleanupLeasesUponShardCompletion, true);
      assert.equal(c.lease.billingMode, 'PAY_PER_REQUEST');
      assert.equal(c.lease.enablePriorityLeaseAssignment, true);
    });

    it('retrieval: polling with maxRecords 10000, 1500 ms between reads, 4 pending batches', () => {
      assert.equal(c.retrieval.mode, 'polling');
      if (c.retrieval.mode !== 'polling') return;
      assert.equal(c.retrieval.maxRecords, 10000);
      assert.equal(c.retrieval.idleTimeBetweenReadsMs, 1500);
      assert.equal(c.retrieval.maxPendingBatches, 4);
      assert.equal(c.retrieval.maxPendingBytes, 8 * 1024 * 1024);
      assert.equal(c.retrieval.maxPendingRecords, 30000);
      assert.equal(c.retrieval.maxBytesInFlightPerWorker, 64 * 1024 * 1024);
    });

    it('initial position, metrics, coordinator, lifecycle and processor', () => {
      assert.equal(c.initialPosition, 'LATEST');
      assert.equal(c.metrics.level, 'DETAILED');
      assert.deepEqual(c.metrics.sinks, []);
      assert.equal(c.coordinator.maxInitializationAttempts, 20);
      assert.equal(c.coordinator.initializationBackoffMs, 1000);
      assert.equal(c.coordinator.parentShardPollIntervalMs, 10000);
      assert.equal(c.lifecycle.taskBackoffTimeMs, 500);
      assert.equal(c.processor.onProcessRecordsError, 'skip');
      assert.equal(c.processor.callProcessRecordsEvenForEmptyRecordList, false);
      assert.notEqual(c.logger, silentLogger, 'never silent by default: warnings and errors reach stderr');
      assert.equal(typeof c.logger.child, 'function');
    });

    it('names: table = application name, a generated worker id, the stream', () => {
      assert.equal(c.applicationName, 'my-app');
      assert.equal(c.tableName, 'my-app');
      assert.deepEqual(c.stream, { streamName: 'my-stream' });
      assert.equal(typeof c.workerId, 'string');
      assert.ok(c.workerId.length > 0);
      assert.match(c.workerId, new RegExp(`-${process.pid}-[0-9a-f]{8}$`));
      assert.notEqual(resolveConfig(base()).workerId, c.workerId, 'a random suffix per resolution');
      assert.equal(c.processorFactory, factory);
    });
  });

  describe('frozen result', () => {
    it('is frozen', () => {
      const c = resolveConfig(base());
      assert.ok(Object.isFrozen(c));
      assert.throws(() => {
        (c as { applicationName: string }).applicationName = 'other';
      }, TypeError);
    });

    it('freezes its own nested sections too (lease, retrieval, coordinator, ...)', () => {
      const c = resolveConfig(base());
      for (const section of ['stream', 'retrieval', 'lease', 'coordinator', 'lifecycle', 'processor', 'metrics'] as const) {
        assert.ok(Object.isFrozen(c[section]), `config.${section} is mutable, so e.g. config.lease.failoverTimeMs = -1 bypasses validation`);
      }
    });
  });

  describe('explicit values', () => {
    it('derives renewer and taker intervals from failoverTimeMs and epsilonMs', () => {
      const c = resolveConfig(base({ lease: { failoverTimeMs: 30000 } }));
      assert.equal(c.lease.renewerIntervalMs, 9975);
      assert.equal(c.lease.takerIntervalMs, 60050);
      const e = resolveConfig(base({ lease: { failoverTimeMs: 30000, epsilonMs: 0, takerIntervalMs: 5000 } }));
      assert.equal(e.lease.renewerIntervalMs, 10000);
      assert.equal(e.lease.takerIntervalMs, 5000);
    });

    it('streamArn resolves streamName', () => {
      const arn = 'arn:aws:kinesis:us-east-1:123456789012:stream/orders.v2_prod-1';
      const { streamName: _omit, ...noName } = base();
      assert.deepEqual(resolveConfig({ ...noName, streamArn: arn }).stream, { streamArn: arn, streamName: 'orders.v2_prod-1' });
      const cn = 'arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s';
      assert.deepEqual(resolveConfig({ ...noName, streamArn: cn }).stream, { streamArn: cn, streamName: 's' });
    });

    it('keeps a given workerId, tableName and initial position', () => {
      const ts = new Date('2024-01-02T03:04:05Z');
      const c = resolveConfig(base({ workerId: 'worker-7', lease: { tableName: 'my-leases' }, initialPosition: { timestamp: ts } }));
      assert.equal(c.workerId, 'worker-7');
      assert.equal(c.tableName, 'my-leases');
      assert.deepEqual(c.initialPosition, { timestamp: ts });
      assert.equal(resolveConfig(base({ initialPosition: 'TRIM_HORIZON' })).initialPosition, 'TRIM_HORIZON');
    });

    it('raises idleTimeBetweenReadsMs below 200 to 200, with a warning', () => {
      const warnings: unknown[] = [];
      const logger: Logger = { ...silentLogger, warn: (o: object | string) => void warnings.push(o) };
      for (const [given, expected] of [
        [0, 200],
        [1, 200],
        [199, 200],
        [200, 200],
        [201, 201],
      ] as const) {
        const c = resolveConfig(base({ logger, retrieval: { mode: 'polling', idleTimeBetweenReadsMs: given } }));
        assert.equal(c.retrieval.mode === 'polling' && c.retrieval.idleTimeBetweenReadsMs, expected, String(given));
      }
      assert.equal(warnings.length, 3);
    });

    it('accepts maxRecords up to 10000', () => {
      const c = resolveConfig(base({ retrieval: { mode: 'polling', maxRecords: 10000 } }));
      assert.equal(c.retrieval.mode === 'polling' && c.retrieval.maxRecords, 10000);
      const one = resolveConfig(base({ retrieval: { mode: 'polling', maxRecords: 1 } }));
      assert.equal(one.retrieval.mode === 'polling' && one.retrieval.maxRecords, 1);
    });

    it('fan-out defaults the consumer name to the application name', () => {
      const c = resolveConfig(base({ retrieval: { mode: 'fanout' } }));
      assert.deepEqual(c.retrieval, { mode: 'fanout', consumerName: 'my-app', kinesisRequestTimeoutMs: 30000, maxBytesInFlightPerWorker: 64 * 1024 * 1024 });
    });

    it('accepts the smallest failoverTimeMs that leaves a positive renewer interval', () => {
      const c = resolveConfig(base({ lease: { failoverTimeMs: 78 } }));
      assert.equal(c.lease.renewerIntervalMs, 1);
      assertRejects(base({ lease: { failoverTimeMs: 77 } }), 'lease.failoverTimeMs');
    });
  });

  describe('invalid fields throw IllegalArgumentError naming the field', () => {
    const cases: [string, unknown, string][] = [
      ['missing applicationName', { ...base(), applicationName: undefined }, 'applicationName'],
      ['applicationName too short for a table name', base({ applicationName: 'ab' }), 'applicationName'],
      ['applicationName with a bad character', base({ applicationName: 'my app' }), 'applicationName'],
      ['bad lease.tableName', base({ lease: { tableName: 'x' } }), 'lease.tableName'],
      ['bad lease.tableName characters', base({ lease: { tableName: 'leases/table' } }), 'lease.tableName'],
      ['missing processorFactory', { ...base(), processorFactory: undefined }, 'processorFactory'],
      ['processorFactory not a function', { ...base(), processorFactory: {} }, 'processorFactory'],
      ['processorFactory a class, not a factory', { ...base(), processorFactory: class MyProcessor {} }, 'processorFactory'],
      ['both streamName and streamArn', base({ streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/my-stream' }), 'streamName'],
      ['neither streamName nor streamArn', { applicationName: 'my-app', processorFactory: factory }, 'streamName'],
      ['bad streamName', base({ streamName: 'bad name!' }), 'streamName'],
      ['bad streamArn (short account)', { applicationName: 'my-app', processorFactory: factory, streamArn: 'arn:aws:kinesis:us-east-1:1234:stream/s' }, 'streamArn'],
      ['bad streamArn (not kinesis)', { applicationName: 'my-app', processorFactory: factory, streamArn: 'arn:aws:sqs:us-east-1:123456789012:stream/s' }, 'streamArn'],
      ['bad streamArn (no stream)', { applicationName: 'my-app', processorFactory: factory, streamArn: 'my-stream' }, 'streamArn'],
      ['streams with streamName', base({ streams: [{ streamName: 's' }] }), 'streamName'],
      ['streams entry without a stream', { applicationName: 'my-app', processorFactory: factory, streams: [{}] }, 'streams[0].streamName'],
      ['streams entry with a bad name', { applicationName: 'my-app', processorFactory: factory, streams: [{ streamName: 'ok' }, { streamName: 'bad name' }] }, 'streams[1].streamName'],
      ['streams not an array or function', { applicationName: 'my-app', processorFactory: factory, streams: 's' }, 'streams'],
      ['streams with a fan-out consumerArn', { applicationName: 'my-app', processorFactory: factory, streams: [{ streamName: 's' }], retrieval: { mode: 'fanout', consumerArn: 'arn:x' } }, 'retrieval.consumerArn'],
      ['multiStream without streams', base({ multiStream: {} }), 'multiStream'],
      ['bad former-streams strategy', { applicationName: 'my-app', processorFactory: factory, streams: [], multiStream: { formerStreamsLeasesDeletionStrategy: { type: 'DELETE_ALL' } } }, 'multiStream.formerStreamsLeasesDeletionStrategy.type'],
      ['provided strategy without its list', { applicationName: 'my-app', processorFactory: factory, streams: [], multiStream: { formerStreamsLeasesDeletionStrategy: { type: 'PROVIDED_STREAMS_DEFERRED_DELETION', waitPeriodToDeleteFormerStreamsMs: 5 } } }, 'multiStream.formerStreamsLeasesDeletionStrategy.streamIdentifiersForLeaseCleanup'],
      ['maxRecords 10001', base({ retrieval: { mode: 'polling', maxRecords: 10001 } }), 'retrieval.maxRecords'],
      ['maxRecords 0', base({ retrieval: { mode: 'polling', maxRecords: 0 } }), 'retrieval.maxRecords'],
      ['maxRecords not an integer', base({ retrieval: { mode: 'polling', maxRecords: 1.5 } }), 'retrieval.maxRecords'],
      ['negative idleTimeBetweenReadsMs', base({ retrieval: { mode: 'polling', idleTimeBetweenReadsMs: -1 } }), 'retrieval.idleTimeBetweenReadsMs'],
      ['maxPendingBatches 0', base({ retrieval: { mode: 'polling', maxPendingBatches: 0 } }), 'retrieval.maxPendingBatches'],
      ['maxBytesInFlightPerWorker 0', base({ retrieval: { mode: 'polling', maxBytesInFlightPerWorker: 0 } }), 'retrieval.maxBytesInFlightPerWorker'],
      ['negative maxBytesInFlightPerWorker (fan-out)', base({ retrieval: { mode: 'fanout', maxBytesInFlightPerWorker: -1 } }), 'retrieval.maxBytesInFlightPerWorker'],
      ['bad retrieval mode', base({ retrieval: { mode: 'push' } as unknown as NonNullable<SchedulerConfig['retrieval']> }), 'retrieval.mode'],
      ['negative failoverTimeMs', base({ lease: { failoverTimeMs: -1 } }), 'lease.failoverTimeMs'],
      ['zero failoverTimeMs', base({ lease: { failoverTimeMs: 0 } }), 'lease.failoverTimeMs'],
      ['failoverTimeMs as a string', base({ lease: { failoverTimeMs: '10000' as unknown as number } }), 'lease.failoverTimeMs'],
      ['failoverTimeMs too small for renewals', base({ lease: { failoverTimeMs: 60 } }), 'lease.failoverTimeMs'],
      ['failoverTimeMs too small for its epsilon', base({ lease: { failoverTimeMs: 300, epsilonMs: 100 } }), 'lease.failoverTimeMs'],
      ['maxLeasesToStealAtOneTime 0', base({ lease: { maxLeasesToStealAtOneTime: 0 } }), 'lease.maxLeasesToStealAtOneTime'],
      ['maxLeasesForWorker 0', base({ lease: { maxLeasesForWorker: 0 } }), 'lease.maxLeasesForWorker'],
      ['cleanupLeasesUponShardCompletion not boolean', base({ lease: { cleanupLeasesUponShardCompletion: 'yes' as unknown as boolean } }), 'lease.cleanupLeasesUponShardCompletion'],
      ['bad initialPosition string', base({ initialPosition: 'EARLIEST' as unknown as 'LATEST' }), 'initialPosition'],
      ['bad initialPosition timestamp', base({ initialPosition: { timestamp: new Date('not a date') } }), 'initialPosition'],
      ['initialPosition timestamp not a Date', base({ initialPosition: { timestamp: 1700000000000 as unknown as Date } }), 'initialPosition'],
      ['bad billingMode', base({ lease: { billingMode: 'ON_DEMAND' as unknown as 'PROVISIONED' } }), 'lease.billingMode'],
      ['bad onProcessRecordsError', base({ processor: { onProcessRecordsError: 'ignore' as unknown as 'skip' } }), 'processor.onProcessRecordsError'],
      ['bad metrics level', base({ metrics: { level: 'ALL' as unknown as 'NONE' } }), 'metrics.level'],
      ['empty workerId', base({ workerId: '' }), 'workerId'],
      ['bad maxInitializationAttempts', base({ coordinator: { maxInitializationAttempts: 0 } }), 'coordinator.maxInitializationAttempts'],
      ['bad taskBackoffTimeMs', base({ lifecycle: { taskBackoffTimeMs: -5 } }), 'lifecycle.taskBackoffTimeMs'],
      ['bad fan-out consumer name', base({ retrieval: { mode: 'fanout', consumerName: 'no spaces' } }), 'retrieval.consumerName'],
    ];
    for (const [name, config, field] of cases) {
      it(name, () => assertRejects(config, field, name));
    }

    it('a missing config object', () => {
      assert.throws(() => resolveConfig(undefined as unknown as SchedulerConfig), IllegalArgumentError);
      assert.throws(() => resolveConfig(null as unknown as SchedulerConfig), IllegalArgumentError);
    });

    it('the failoverTimeMs error suggests a value that is really the limit', () => {
      // The message says "pass at least N": N must then be accepted, and N - 1 rejected.
      let message = '';
      try {
        resolveConfig(base({ lease: { failoverTimeMs: 60 } }));
      } catch (err) {
        message = (err as Error).message;
      }
      const n = Number(/at least (\d+)/.exec(message)?.[1]);
      assert.ok(Number.isInteger(n), message);
      assert.doesNotThrow(() => resolveConfig(base({ lease: { failoverTimeMs: n } })), `message "${message}" but ${n} is rejected`);
      assert.throws(() => resolveConfig(base({ lease: { failoverTimeMs: n - 1 } })), IllegalArgumentError);
    });
  });
});

describe('resolveConfig: the unowned-lease probe', () => {
  it('defaults to the renewal interval, can be slowed or turned off, and rejects negatives', () => {
    assert.equal(resolveConfig(base()).lease.unownedLeasePollIntervalMs, 3308);
    assert.equal(resolveConfig(base({ lease: { failoverTimeMs: 3000 } })).lease.unownedLeasePollIntervalMs, 975);
    assert.equal(resolveConfig(base({ lease: { unownedLeasePollIntervalMs: 0 } })).lease.unownedLeasePollIntervalMs, 0);
    assert.throws(() => resolveConfig(base({ lease: { unownedLeasePollIntervalMs: -1 } })), /SchedulerConfig\.lease\.unownedLeasePollIntervalMs/);
  });
});
