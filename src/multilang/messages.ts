import type { KinesisClientRecord } from '../retrieval/kinesis-client-record.ts';
import type { ExtendedSequenceNumber } from '../retrieval/extended-sequence-number.ts';

/**
 * The MultiLang protocol's JSON lines, as the Java daemon writes and reads them (its `messages`
 * package). Nulls are written, not omitted, as Jackson does: amazon-kclpy reads `sequenceNumber`
 * and `subSequenceNumber` with `dict[...]` and fails on a missing key.
 */

/** The actions the daemon sends; a child answers each with `status` and this name in `responseFor`. */
export type DaemonAction = 'initialize' | 'processRecords' | 'leaseLost' | 'shardEnded' | 'shutdownRequested';

export function initializeMessage(shardId: string, start: ExtendedSequenceNumber): string {
  return JSON.stringify({ action: 'initialize', shardId, sequenceNumber: start.sequenceNumber, subSequenceNumber: start.subSequenceNumber });
}

/** `data` in base64 and the arrival time in epoch milliseconds, as Java's JsonFriendlyRecord. */
export function processRecordsMessage(records: readonly KinesisClientRecord[], millisBehindLatest: number): string {
  const json = records.map((r) => ({
    action: 'record',
    data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString('base64'),
    partitionKey: r.partitionKey,
    sequenceNumber: r.sequenceNumber,
    subSequenceNumber: r.subSequenceNumber,
    approximateArrivalTimestamp: r.approximateArrivalTimestamp.getTime(),
  }));
  return JSON.stringify({ action: 'processRecords', records: json, millisBehindLatest });
}

export function bareMessage(action: 'leaseLost' | 'shardEnded' | 'shutdownRequested'): string {
  return JSON.stringify({ action });
}

/** The answer to a child's checkpoint request: the request's numbers echoed, `error` the Java exception's simple name or null. */
export function checkpointResultMessage(request: CheckpointRequest, error: string | null): string {
  return JSON.stringify({ action: 'checkpoint', sequenceNumber: request.sequenceNumber ?? null, subSequenceNumber: request.subSequenceNumber ?? null, error });
}

export interface CheckpointRequest {
  sequenceNumber?: string;
  subSequenceNumber?: number;
}

/** What a line from a child's stdout is. */
export type ChildLine =
  | { kind: 'status'; responseFor: string }
  | { kind: 'checkpoint'; request: CheckpointRequest }
  /** Not a protocol line (blank, or text a processor printed): skipped, as the Java daemon skips it. */
  | { kind: 'noise' }
  /** Looks like a protocol message but is not one: the child is broken. */
  | { kind: 'invalid'; reason: string };

export function parseChildLine(line: string): ChildLine {
  const text = line.trim();
  // The client libraries write a blank line before and after each message; other text is a stray print.
  if (!text.startsWith('{')) return { kind: 'noise' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', reason: `malformed JSON (${(err as Error).message})` };
  }
  const message = value as Record<string, unknown>;
  switch (message.action) {
    case 'status':
      return typeof message.responseFor === 'string' ? { kind: 'status', responseFor: message.responseFor } : { kind: 'invalid', reason: 'a status without responseFor' };
    case 'checkpoint':
      return checkpointRequest(message);
    default:
      return { kind: 'invalid', reason: `unexpected action ${JSON.stringify(message.action)}` };
  }
}

/** Sequence numbers may come as JSON numbers (Jackson coerces them to strings too); null means "absent". */
function checkpointRequest(m: Record<string, unknown>): ChildLine {
  const seq = m.sequenceNumber;
  const sub = m.subSequenceNumber;
  if (seq !== undefined && seq !== null && typeof seq !== 'string' && typeof seq !== 'number') return { kind: 'invalid', reason: 'a checkpoint whose sequenceNumber is not a string' };
  if (sub !== undefined && sub !== null && !(typeof sub === 'number' && Number.isInteger(sub))) return { kind: 'invalid', reason: 'a checkpoint whose subSequenceNumber is not an integer' };
  const request: CheckpointRequest = {};
  if (seq !== undefined && seq !== null) request.sequenceNumber = String(seq);
  if (typeof sub === 'number') request.subSequenceNumber = sub;
  return { kind: 'checkpoint', request };
}

/** Our error classes by the names of the Java exceptions the client libraries expect. */
const JAVA_NAMES: Record<string, string> = { IllegalArgumentError: 'IllegalArgumentException' };

export function javaErrorName(err: unknown): string {
  const name = err instanceof Error ? err.name : 'KinesisClientLibException';
  return JAVA_NAMES[name] ?? name;
}
