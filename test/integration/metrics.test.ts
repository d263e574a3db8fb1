import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { metrics as otelMetrics } from '@opentelemetry/api';
import { startEnv, uniqueName, createStream, putRecords, makeRecords, waitFor, credentials, region, type TestEnv } from '../support/env.ts';
import { Recorder, recordingFactory } from '../support/recording-processor.ts';
import { testScheduler, start } from '../support/scheduler.ts';
import type { MetricDatum, MetricsSink, SchedulerConfig } from '../../src/index.ts';

/** Keeps what the library publishes, both as flushed StatisticSets and as raw observations. */
class RecordingSink implements MetricsSink {
  readonly published: MetricDatum[] = [];
  readonly recorded: MetricDatum[] = [];
  record(d: MetricDatum): void {
    this.recorded.push(d);
  }
  publish(data: MetricDatum[]): void {
    this.published.push(...data);
  }
  names(operation: string): Set<string> {
    return new Set(this.published.filter((d) => d.dimensions.Operation === operation).map((d) => d.name));
  }
  sum(operation: string, name: string, dims: Record<string, string> = {}): number {
    return this.published
      .filter((d) => d.dimensions.Operation === operation && d.name === name && Object.entries(dims).every(([k, v]) => d.dimensions[k] === v))
      .reduce((a, d) => a + d.sum, 0);
  }
}

describe('metrics: Java KCL names, dimensions and levels', () => {
  let env: TestEnv;
  before(async () => (env = await startEnv('kinesalite')));
  after(async () => env?.close());

  const runWith = async (metrics: NonNullable<SchedulerConfig['metrics']>, extra: Partial<SchedulerConfig> = {}): Promise<{ put: Awaited<ReturnType<typeof putRecords>> }> => {
    const stream = uniqueName('metrics');
    await createStream(env.kinesis, stream, 2);
    const put = await putRecords(env.kinesis, stream, makeRecords(40, 'm'));
    const recorder = new Recorder();
    // Waits for a renewal round over both leases (taker rounds, every 500 ms, took them already) by
    // watching the observations, not by sleeping: on Node 22 (CI's) the renewal thread starts in about
    // 2.4 s under tsx. NONE observes nothing, so it gets the time both rounds take.
    let renewedBoth = false;
    const spy: MetricsSink = { record: (d) => void (renewedBoth ||= d.dimensions.Operation === 'RenewAllLeases' && d.name === 'CurrentLeases' && d.sum >= 2) };
    const scheduler = testScheduler(env, {
      applicationName: uniqueName('app'),
      streamName: stream,
      workerId: 'metrics-worker',
      metrics: { ...metrics, sinks: [...(metrics.sinks ?? []), spy] },
      processorFactory: recordingFactory(recorder),
      ...extra,
    });
    const running = start(scheduler);
    await waitFor(() => recorder.deliveries.length >= 40, 'all records');
    if (metrics.level === 'NONE') await new Promise((r) => setTimeout(r, 1200));
    else await waitFor(() => renewedBoth, 'a renewal round over both leases');
    await scheduler.startGracefulShutdown(); // flushes the metrics buffer
    await running;
    return { put };
  };

  it('DETAILED: processing, fetching, renewing and taking metrics with their operations and dimensions', async () => {
    const sink = new RecordingSink();
    const { put } = await runWith({ level: 'DETAILED', sinks: [sink] });
    const shard0 = put[0]!.shardId;
    assert.equal(sink.sum('ProcessTask', 'RecordsProcessed'), 40);
    assert.equal(sink.sum('ProcessTask', 'RecordsProcessed', { ShardId: shard0 }), put.filter((p) => p.shardId === shard0).length);
    assert.equal(sink.sum('ProcessTask', 'DataBytesProcessed'), put.reduce((a, p) => a + Buffer.byteLength(p.data), 0));
    for (const name of ['MillisBehindLatest', 'RecordProcessor.processRecords.Time', 'KinesisDataFetcher.getRecords.Success', 'KinesisDataFetcher.getRecords.Time', 'KinesisDataFetcher.getShardIterator.Success']) {
      assert.ok(sink.names('ProcessTask').has(name), `ProcessTask ${name}`);
    }
    for (const name of ['CurrentLeases', 'LostLeases', 'RenewLease.Success', 'RenewLease.Time', 'Success', 'Time']) assert.ok(sink.names('RenewAllLeases').has(name), `RenewAllLeases ${name}`);
    for (const name of ['TakenLeases', 'NumWorkers', 'TotalLeases', 'ExpiredLeases', 'TakeLease.Success', 'TakeLease.Time', 'ListLeases.Success', 'Success', 'Time']) assert.ok(sink.names('TakeLeases').has(name), `TakeLeases ${name}`);
    assert.equal(sink.sum('TakeLeases', 'TakenLeases'), 2);
    assert.ok(sink.published.filter((d) => d.dimensions.Operation === 'RenewAllLeases').every((d) => d.dimensions.WorkerIdentifier === 'metrics-worker'));
    assert.ok(sink.published.filter((d) => d.dimensions.Operation === 'ProcessTask').every((d) => d.dimensions.ShardId?.startsWith('shardId-')));
    assert.equal(sink.sum('Scheduler:Initialize', 'Initialize.Success'), 1);
    assert.ok(sink.published.find((d) => d.name === 'RecordProcessor.processRecords.Time')!.unit === 'Milliseconds');
    // Flushed data are StatisticSets: merged per name and dimensions.
    const rp = sink.published.filter((d) => d.dimensions.Operation === 'ProcessTask' && d.name === 'RecordsProcessed' && d.dimensions.ShardId === shard0);
    assert.equal(rp.length, 1);
    assert.ok(rp[0]!.count >= 1 && rp[0]!.max <= rp[0]!.sum && rp[0]!.min <= rp[0]!.max);
  });

  it('SUMMARY drops the detailed metrics; NONE emits nothing', async () => {
    const summary = new RecordingSink();
    await runWith({ level: 'SUMMARY', sinks: [summary] });
    assert.equal(summary.sum('ProcessTask', 'RecordsProcessed'), 40);
    assert.ok(summary.names('RenewAllLeases').has('CurrentLeases'));
    for (const detailed of ['KinesisDataFetcher.getRecords.Time', 'RecordProcessor.processRecords.Time']) assert.ok(!summary.names('ProcessTask').has(detailed), detailed);
    assert.ok(!summary.names('RenewAllLeases').has('RenewLease.Time'));
    const none = new RecordingSink();
    await runWith({ level: 'NONE', sinks: [none] });
    assert.deepEqual([none.published.length, none.recorded.length], [0, 0]);
  });

  it('CloudWatch: batched PutMetricData under the application namespace; a failing CloudWatch never stops processing', async () => {
    const calls: { target: string; body: { Namespace: string; MetricData: { MetricName: string; StatisticValues: { Sum: number } }[] } }[] = [];
    let fail = true;
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        // The SDK gzips large PutMetricData bodies (request compression).
        const raw = Buffer.concat(chunks);
        const body = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString();
        if (fail) {
          fail = false;
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
          return void res.end(JSON.stringify({ __type: 'InternalServiceError', message: 'boom' }));
        }
        calls.push({ target: String(req.headers['x-amz-target']), body: JSON.parse(body) as (typeof calls)[number]['body'] });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end('{}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const cw = new CloudWatchClient({ region, credentials, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, maxAttempts: 1 });
    const warnings: string[] = [];
    try {
      const app = uniqueName('app');
      const stream = uniqueName('cw');
      await createStream(env.kinesis, stream, 1);
      await putRecords(env.kinesis, stream, makeRecords(10, 'c'));
      const recorder = new Recorder();
      const scheduler = testScheduler(env, {
        applicationName: app,
        streamName: stream,
        cloudWatchClient: cw,
        metrics: { level: 'SUMMARY', bufferTimeMs: 200 },
        logger: { debug: () => {}, info: () => {}, error: () => {}, warn: (_o: object | string, m?: string) => void warnings.push(m ?? '') },
        processorFactory: recordingFactory(recorder),
      });
      const running = start(scheduler);
      await waitFor(() => recorder.deliveries.length >= 10 && warnings.length > 0, 'records, and the first publish failing');
      await putRecords(env.kinesis, stream, makeRecords(10, 'd'));
      const processedSum = (): number =>
        calls.flatMap((c) => c.body.MetricData).filter((d) => d.MetricName === 'RecordsProcessed').reduce((a, d) => a + d.StatisticValues.Sum, 0);
      await waitFor(() => recorder.deliveries.length >= 20 && processedSum() >= 10, 'later records processed and published');
      await scheduler.startGracefulShutdown();
      await running;
      assert.ok(warnings.some((w) => w.includes('metrics sink failed')), `the failed publish was logged: ${JSON.stringify(warnings)}`);
      assert.ok(calls.every((c) => c.target === 'GraniteServiceVersion20100801.PutMetricData' && c.body.Namespace === app), JSON.stringify(calls).slice(0, 500));
      assert.equal(recorder.deliveries.length, 20, 'processing went on while CloudWatch failed');
      assert.ok(calls.every((c) => c.body.MetricData.length <= 1000));
    } finally {
      cw.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

  it('OpenTelemetry: histograms named after the Java metrics, through @opentelemetry/api only', async () => {
    const seen: { name: string; value: number; attributes: Record<string, string> }[] = [];
    otelMetrics.setGlobalMeterProvider({
      getMeter: () =>
        ({
          createHistogram: (name: string) => ({ record: (value: number, attributes: Record<string, string>) => void seen.push({ name, value, attributes }) }),
        }) as never,
    });
    try {
      await runWith({ level: 'SUMMARY', openTelemetry: true });
    } finally {
      otelMetrics.disable();
    }
    const processed = seen.filter((s) => s.name === 'kcl.RecordsProcessed');
    assert.equal(processed.reduce((a, s) => a + s.value, 0), 40);
    assert.ok(processed.every((s) => s.attributes.Operation === 'ProcessTask' && s.attributes.ShardId));
    assert.ok(seen.some((s) => s.name === 'kcl.CurrentLeases' && s.attributes.WorkerIdentifier === 'metrics-worker'));
  });
});
