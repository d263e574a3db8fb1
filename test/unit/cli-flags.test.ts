import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseFlags, usage, UsageError, type CommandSpec } from '../../src/cli/flags.ts';

const SPEC: CommandSpec = {
  name: 'demo-cmd',
  summary: 'A command for the test.',
  flags: {
    app: { kind: 'string', value: 'NAME', help: 'the app', required: true },
    wait: { kind: 'duration', help: 'how long' },
    count: { kind: 'int', help: 'how many', default: '3' },
    'dynamodb-endpoint': { kind: 'string', value: 'URL', help: 'DynamoDB', deprecated: ['endpoint'] },
    json: { kind: 'boolean', help: 'JSON out' },
  },
};

const quiet = (): { stdout: string[]; stderr: string[]; out: { stdout: (s: string) => void; stderr: (s: string) => void } } => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: { stdout: (s) => void stdout.push(s), stderr: (s) => void stderr.push(s) } };
};

describe('CLI flags', () => {
  it('durations: 10s, 500ms, 2m, 1.5s and plain milliseconds', () => {
    assert.equal(parseDuration('x', '10s'), 10000);
    assert.equal(parseDuration('x', '500ms'), 500);
    assert.equal(parseDuration('x', '2m'), 120000);
    assert.equal(parseDuration('x', '1.5s'), 1500);
    assert.equal(parseDuration('x', '10000'), 10000);
    assert.throws(() => parseDuration('failover-time-ms', '10 sec'), /^UsageError: --failover-time-ms must be a duration such as 10s, 500ms, 2m or plain milliseconds \(10000\), not "10 sec"$/);
  });

  it('parses typed values with defaults; a bad value names its flag at parse time', () => {
    const { out } = quiet();
    const flags = parseFlags(SPEC, ['--app', 'a', '--wait', '10s'], out)!;
    assert.equal(flags.required('app'), 'a');
    assert.equal(flags.duration('wait'), 10000);
    assert.equal(flags.int('count'), 3);
    assert.equal(flags.boolean('json'), false);
    assert.throws(() => parseFlags(SPEC, ['--app', 'a', '--count', 'many'], out), (e: Error) => e instanceof UsageError && e.message === '--count must be a positive whole number, not "many"');
    assert.throws(() => parseFlags(SPEC, ['--wait', '1s'], out), /--app is required: the app/);
    assert.throws(() => parseFlags(SPEC, ['--app', 'a', '--nope'], out), /Unknown option '--nope'/);
  });

  it('an old spelling works, with one deprecation line', () => {
    const { stderr, out } = quiet();
    const flags = parseFlags(SPEC, ['--app', 'a', '--endpoint', 'http://x'], out)!;
    assert.equal(flags.string('dynamodb-endpoint'), 'http://x');
    assert.deepEqual(stderr, ['ts-kcl demo-cmd: --endpoint is deprecated; use --dynamodb-endpoint\n']);
  });

  it('--help prints the usage (every flag) and parses nothing, even with required flags missing', () => {
    const { stdout, out } = quiet();
    assert.equal(parseFlags(SPEC, ['--help'], out), undefined);
    assert.equal(stdout.join(''), usage(SPEC));
    for (const name of Object.keys(SPEC.flags)) assert.match(usage(SPEC), new RegExp(`^  --${name}\\b`, 'm'));
    assert.match(usage(SPEC), /--dynamodb-endpoint URL\s+DynamoDB \(was --endpoint\)/);
    assert.match(usage(SPEC), /--count N\s+how many \(default 3\)/);
  });
});
