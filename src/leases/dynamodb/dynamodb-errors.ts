import {
  InvalidStateException,
  KinesisClientLibDependencyException,
  ThrottlingException,
  type KclError,
} from '../../errors.ts';

const THROTTLES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

export const isConditionalCheckFailed = (err: unknown): boolean =>
  err instanceof Error && err.name === 'ConditionalCheckFailedException';

/** A refusal: the request did not change anything. */
export const isThrottle = (err: unknown): boolean => err instanceof Error && THROTTLES.has(err.name);

/** Maps a DynamoDB failure to the KCL's error classes, as DynamoDBLeaseRefresher does. */
export function toKclError(err: unknown, action: string): KclError {
  const name = err instanceof Error ? err.name : 'Error';
  const message = `${action} failed: ${err instanceof Error ? err.message : String(err)}`;
  if (THROTTLES.has(name)) return new ThrottlingException(message, { cause: err });
  if (name === 'ResourceNotFoundException') return new InvalidStateException(`${message} (is the lease table gone?)`, { cause: err });
  return new KinesisClientLibDependencyException(message, { cause: err });
}
