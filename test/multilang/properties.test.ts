import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { parseJavaProperties } from '../../src/multilang/java-properties.ts';
import { multiLangConfigFrom, MultiLangConfigError, type MultiLangConfig } from '../../src/multilang/daemon-config.ts';

const config = (text: string): MultiLangConfig => multiLangConfigFrom(parseJavaProperties(text), 'app.properties');
const BASE = 'executableName = python3 sample_kclpy_app.py\nstreamName = words\napplicationName = PythonKCLSample\n';

test('java.util.Properties syntax: separators, comments, continuations, escapes, last duplicate wins', () => {
  const p = parseJavaProperties(
    ['# comment', '! also a comment', '  a = 1', 'b:2', 'c 3', 'd=x \\', '   y', 'e = tab\\there \\u0041', 'a = 4', 'f\\ g = h', 'empty ='].join('\n'),
  );
  assert.equal(p.get('a')?.value, '4');
  assert.equal(p.get('b')?.value, '2');
  assert.equal(p.get('c')?.value, '3');
  assert.equal(p.get('d')?.value, 'x y');
  assert.equal(p.get('e')?.value, 'tab\there A');
  assert.equal(p.get('f g')?.value, 'h');
  assert.equal(p.get('empty')?.value, '');
  assert.equal(p.get('b')?.line, 4);
});

test("the sample daemon file maps to the Java names' ts-kcl fields, Java defaults kept", () => {
  const c = config(
    BASE +
      [
        'initialPositionInStream = TRIM_HORIZON',
        'regionName = us-west-2',
        'AWSCredentialsProvider = DefaultCredentialsProvider',
        'maxRecords = 500',
        'idleTimeBetweenReadsInMillis = 250',
        'failoverTimeMillis = 20000',
        'shardSyncIntervalMillis = 30000',
        'maxLeasesForWorker = 7',
        'maxLeasesToStealAtOneTime = 2',
        'callProcessRecordsEvenForEmptyRecordList = true',
        'cleanupLeasesUponShardCompletion = false',
        'workerId = w1',
        'metricsLevel = none',
        'kinesisEndpoint = http://localhost:4567',
        'dynamoDBEndpoint = localhost:8000',
        'timeoutInSeconds = 30',
        'taskBackoffTimeMillis = 700',
        'parentShardPollIntervalMillis = 900',
        'processingLanguage = python/3.11',
      ].join('\n'),
  );
  assert.deepEqual(c.command, ['python3', 'sample_kclpy_app.py']);
  assert.equal(c.childTimeoutMs, 30000);
  assert.deepEqual(c.warnings, []);
  const s = c.scheduler;
  assert.equal(s.applicationName, 'PythonKCLSample');
  assert.equal(s.streamName, 'words');
  assert.equal(s.workerId, 'w1');
  assert.equal(s.initialPosition, 'TRIM_HORIZON');
  assert.deepEqual(s.clientConfig, { region: 'us-west-2', endpoints: { kinesis: 'http://localhost:4567', dynamodb: 'https://localhost:8000' } });
  assert.deepEqual(s.retrieval, { mode: 'polling', maxRecords: 500, idleTimeBetweenReadsMs: 250 });
  assert.deepEqual(s.lease, { failoverTimeMs: 20000, shardSyncIntervalMs: 30000, maxLeasesForWorker: 7, maxLeasesToStealAtOneTime: 2, cleanupLeasesUponShardCompletion: false });
  assert.deepEqual(s.processor, { callProcessRecordsEvenForEmptyRecordList: true, onProcessRecordsError: 'retry' });
  assert.deepEqual(s.metrics, { level: 'NONE', cloudWatch: false });
  assert.deepEqual(s.lifecycle, { taskBackoffTimeMs: 700 });
  assert.deepEqual(s.coordinator, { parentShardPollIntervalMs: 900 });
});

test('retrievalMode: DEFAULT is fan-out unless a polling property is set (as Java); POLLING and FANOUT as named', () => {
  assert.deepEqual(config(BASE).scheduler.retrieval, { mode: 'fanout' });
  assert.deepEqual(config(BASE + 'maxRecords = 10').scheduler.retrieval, { mode: 'polling', maxRecords: 10 });
  assert.deepEqual(config(BASE + 'retrievalMode = polling').scheduler.retrieval, { mode: 'polling' });
  assert.deepEqual(config(BASE + 'retrievalMode = FANOUT\nconsumerName = c1').scheduler.retrieval, { mode: 'fanout', consumerName: 'c1' });
  assert.deepEqual(config(BASE).scheduler.metrics, { cloudWatch: true }, 'Java publishes metrics unless metricsLevel = NONE');
});

test('AT_TIMESTAMP from initialPositionInStreamExtended (seconds since the epoch); streamArn wins over streamName', () => {
  const c = config(BASE + 'initialPositionInStreamExtended = 1700000000\nstreamArn = arn:aws:kinesis:us-east-1:123456789012:stream/words2');
  assert.deepEqual(c.scheduler.initialPosition, { timestamp: new Date(1700000000 * 1000) });
  assert.equal(c.scheduler.streamArn, 'arn:aws:kinesis:us-east-1:123456789012:stream/words2');
  assert.equal(c.scheduler.streamName, undefined);
  assert.match(c.warnings.join('\n'), /streamArn wins/);
});

test('executableName splits on runs of spaces, as the Java daemon (no shell)', () => {
  assert.deepEqual(config(BASE.replace('python3 sample_kclpy_app.py', '  node   app.js  --x  ')).command, ['node', 'app.js', '--x']);
});

test('malformed values and missing required properties: one line each, naming the property and the line', () => {
  let message = '';
  try {
    config(['executableName = node app.js', 'maxRecords = lots', 'failoverTimeMillis = -5', 'cleanupLeasesUponShardCompletion = maybe', 'initialPositionInStream = OLDEST', 'retrievalMode = push'].join('\n'));
  } catch (err) {
    assert.ok(err instanceof MultiLangConfigError);
    message = err.message;
  }
  const lines = message.split('\n');
  assert.equal(lines.length, 7, message);
  assert.match(lines[0]!, /^app\.properties:2: maxRecords = "lots" is not an integer/);
  assert.match(lines[1]!, /^app\.properties:3: failoverTimeMillis = "-5" is out of range/);
  assert.match(lines[2]!, /cleanupLeasesUponShardCompletion = "maybe" is not a boolean/);
  assert.match(lines[3]!, /initialPositionInStream = "OLDEST" is not one of LATEST, TRIM_HORIZON, AT_TIMESTAMP/);
  assert.match(lines[4]!, /retrievalMode = "push" is not one of POLLING, FANOUT, DEFAULT/);
  assert.match(lines[5]!, /applicationName is missing/);
  assert.match(lines[6]!, /streamName is missing/);
});

test('unsupported properties: refused when running without them would be wrong, WARNed when they have no effect', () => {
  assert.throws(() => config(BASE + 'AWSCredentialsProvider = KclStsAssumeRoleCredentialsProvider|arn:aws:iam::1:role/r|s'), /AWSCredentialsProvider = .* names KclStsAssumeRoleCredentialsProvider, which ts-kcl cannot build/);
  assert.throws(() => config(BASE + 'clientVersionConfig = CLIENT_VERSION_CONFIG_3X'), /clientVersionConfig .* KCL 3\.x lease protocol/);
  assert.doesNotThrow(() => config(BASE + 'awscredentialsprovider = EnvironmentVariableCredentialsProvider,ProfileCredentialsProvider|dev'));
  const c = config(BASE + 'maxActiveThreads = 4\nmaxGetRecordsThreadPool = 2\nworkerMetricsTableConfig.tableName = x\nmaxrecords = 5\nnoSuchThing = 1');
  assert.deepEqual(
    c.warnings.map((w) => w.replace(/ \(.*$/, '')),
    [
      'app.properties:4: maxActiveThreads has no effect in ts-kcl',
      'app.properties:5: maxGetRecordsThreadPool has no effect in ts-kcl',
      'app.properties:6: workerMetricsTableConfig.tableName has no effect in ts-kcl',
      "app.properties:7: maxrecords is not a MultiLangDaemon property ts-kcl knows; ignored",
      "app.properties:8: noSuchThing is not a MultiLangDaemon property ts-kcl knows; ignored",
    ],
  );
  assert.match(c.warnings[3]!, /did you mean maxRecords\?/);
});

test('AT_TIMESTAMP without a timestamp is refused', () => {
  assert.throws(() => config(BASE + 'initialPositionInStream = AT_TIMESTAMP'), /AT_TIMESTAMP needs initialPositionInStreamExtended/);
});

test('`ts-kcl multilang` with a malformed properties file exits 1 with one line per bad property', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-cli-'));
  writeFileSync(join(dir, 'app.properties'), BASE + 'maxRecords = lots\nfailoverTimeMillis = soon\n');
  const main = join(import.meta.dirname, '../../src/cli/main.ts');
  const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), main, 'multilang', '--properties', 'app.properties'], { cwd: dir, encoding: 'utf8' });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /app\.properties:4: maxRecords = "lots" is not an integer/);
  assert.match(run.stderr, /app\.properties:5: failoverTimeMillis = "soon" is not an integer/);
});
