import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyStartupError } from '../../src/common/startup-errors.ts';
import { InitializationError, KinesisClientLibDependencyException, ResourceNotFoundError, ThrottlingException } from '../../src/errors.ts';

/** An SDK-shaped error: a name (the AWS error code), a message, optionally a Node code. */
const aws = (name: string, message: string, code?: string): Error => Object.assign(new Error(message), { name, ...(code ? { code } : {}) });
const wrapped = (action: string, root: Error, Kind = KinesisClientLibDependencyException): Error => new Kind(`${action} failed: ${root.message}`, { cause: root });

describe('start-up error classes', () => {
  const final: [string, Error, RegExp][] = [
    ['region', wrapped('DescribeTable app', new Error('Region is missing')), /^DynamoDB DescribeTable app failed: Region is missing \(set clientConfig\.region or AWS_REGION\)$/],
    ['credentials', wrapped('DescribeTable app', aws('CredentialsProviderError', 'Could not load credentials from any providers')), /\(set clientConfig\.credentials/],
    ['expired token', wrapped('Scan app', aws('ExpiredTokenException', 'The security token included in the request is expired')), /^DynamoDB Scan app failed: .*expired \(the credentials were rejected/],
    ['access denied', wrapped('ListShards on s', aws('AccessDeniedException', 'not authorized')), /^Kinesis ListShards on s failed: not authorized \(grant/],
    ['table validation', wrapped('CreateTable a', aws('ValidationException', 'Value a at tableName failed')), /\(check applicationName \/ tableName/],
    ['missing stream', new InitializationError('x', { cause: new ResourceNotFoundError('Stream s does not exist', { cause: aws('ResourceNotFoundException', 'Stream s under account 1 not found.') }) }), /^Kinesis stream s does not exist \(create it/],
    ['bad URL', wrapped('DescribeTable app', Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL' })), /\(check clientConfig\.endpoints/],
  ];
  for (const [what, err, message] of final) {
    it(`${what}: not retried, one line with the fix`, () => {
      const c = classifyStartupError(err);
      assert.equal(c.retriable, false);
      assert.match(c.message, message);
    });
  }

  const retried: [string, Error][] = [
    ['refused', wrapped('DescribeTable app', aws('Error', 'connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'))],
    ['throttled', wrapped('DescribeTable app', aws('ThrottlingException', 'Rate exceeded'), ThrottlingException)],
    ['5xx', wrapped('ListShards on s', aws('InternalFailure', 'Internal service error'))],
    ['DNS', wrapped('DescribeTable app', aws('Error', 'getaddrinfo ENOTFOUND dynamodb.example', 'ENOTFOUND'))],
  ];
  for (const [what, err] of retried) {
    it(`${what}: retried, naming the cause`, () => {
      const c = classifyStartupError(err);
      assert.equal(c.retriable, true);
      assert.match(c.message, /^(DynamoDB|Kinesis) .* failed: /);
    });
  }
});
