/**
 * The Java KCL's multi-stream naming: a stream is `<accountId>:<streamName>:<creationEpoch>` (its
 * serialized StreamIdentifier) and a shard's lease key is that plus `:<shardId>`. The creation epoch
 * makes a stream deleted and recreated under the same name a different stream, whose leases never
 * mix with the old one's.
 */
export interface MultiStreamIdentifier {
  accountId: string;
  streamName: string;
  /** Seconds since the epoch at which the stream was created (DescribeStreamSummary). */
  creationEpoch: number;
}

const IDENTIFIER = /^(\d+):([^:]+):(\d+)$/;
const LEASE_KEY = /^(\d+:[^:]+:\d+):([^:]+)$/;

export const serializeStreamIdentifier = (id: MultiStreamIdentifier): string => `${id.accountId}:${id.streamName}:${id.creationEpoch}`;

export function parseStreamIdentifier(serialized: string): MultiStreamIdentifier | undefined {
  const m = IDENTIFIER.exec(serialized);
  return m ? { accountId: m[1]!, streamName: m[2]!, creationEpoch: Number(m[3]) } : undefined;
}

export const multiStreamLeaseKey = (streamIdentifier: string, shardId: string): string => `${streamIdentifier}:${shardId}`;

/** The stream and shard of a multi-stream lease key; undefined for a single-stream key (a bare shard id). */
export function splitMultiStreamLeaseKey(leaseKey: string): { streamIdentifier: string; shardId: string } | undefined {
  const m = LEASE_KEY.exec(leaseKey);
  return m ? { streamIdentifier: m[1]!, shardId: m[2]! } : undefined;
}

/** The account of a stream ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
export function accountOfStreamArn(arn: string): string | undefined {
  return /^arn:[^:]+:kinesis:[^:]*:(\d+):stream\//.exec(arn)?.[1];
}
