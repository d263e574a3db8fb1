import { IllegalArgumentError } from '../errors.ts';

/** A sequence number plus the position of a user record inside a KPL aggregate. */
export interface ExtendedSequenceNumber {
  /** A decimal sequence number, or TRIM_HORIZON | LATEST | AT_TIMESTAMP | SHARD_END. */
  sequenceNumber: string;
  /** The user record's index inside a KPL aggregate; 0 for records that were not aggregated. */
  subSequenceNumber: number;
}

/** The sentinel checkpoint values, as stored in the lease table's `checkpoint` attribute. */
export const SentinelCheckpoint = {
  /** Not checkpointed yet: start at the oldest record. */
  TRIM_HORIZON: 'TRIM_HORIZON',
  /** Not checkpointed yet: start at the newest record. */
  LATEST: 'LATEST',
  /** Not checkpointed yet: start at the configured timestamp. */
  AT_TIMESTAMP: 'AT_TIMESTAMP',
  /** The shard is fully processed; its children may start. */
  SHARD_END: 'SHARD_END',
} as const;
/** One of the sentinel checkpoint values. */
export type SentinelCheckpoint = (typeof SentinelCheckpoint)[keyof typeof SentinelCheckpoint];

export const esn = (sequenceNumber: string, subSequenceNumber = 0): ExtendedSequenceNumber => ({
  sequenceNumber,
  subSequenceNumber,
});
export const TRIM_HORIZON = esn(SentinelCheckpoint.TRIM_HORIZON);
export const LATEST = esn(SentinelCheckpoint.LATEST);
export const AT_TIMESTAMP = esn(SentinelCheckpoint.AT_TIMESTAMP);
export const SHARD_END = esn(SentinelCheckpoint.SHARD_END);

const DIGITS = /^(0|[1-9][0-9]{0,127})$/;

/** A Kinesis sequence number: a non-negative decimal integer without leading zeros. */
export function isSequenceNumber(value: unknown): value is string {
  return typeof value === 'string' && DIGITS.test(value);
}

export function isSentinel(value: string): value is SentinelCheckpoint {
  return Object.hasOwn(SentinelCheckpoint, value);
}

// Java's order: AT_TIMESTAMP < TRIM_HORIZON < LATEST < any number < SHARD_END.
const SENTINEL_RANK: Record<string, number> = { AT_TIMESTAMP: -3, TRIM_HORIZON: -2, LATEST: -1, SHARD_END: 1 };

/** 0 for a number (a digit first: no lookup keyed by a 56-digit string), else the sentinel's rank. */
const rank = (sequenceNumber: string): number => {
  const c = sequenceNumber.charCodeAt(0);
  return c >= 48 && c <= 57 ? 0 : (SENTINEL_RANK[sequenceNumber] ?? 0);
};

/** Orders two decimal strings without BigInt: longer is larger, then lexical (no leading zeros). */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares two extended sequence numbers as the Java KCL does (sentinels included). */
export function compareExtended(a: ExtendedSequenceNumber, b: ExtendedSequenceNumber): number {
  const ra = rank(a.sequenceNumber);
  const rb = rank(b.sequenceNumber);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (ra === 0) {
    const bySeq = compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber);
    if (bySeq !== 0) return bySeq;
  }
  return a.subSequenceNumber === b.subSequenceNumber ? 0 : a.subSequenceNumber < b.subSequenceNumber ? -1 : 1;
}

/** Validates a caller-supplied checkpoint position, naming what is wrong. */
export function toExtendedSequenceNumber(sequenceNumber: unknown, subSequenceNumber: unknown = 0): ExtendedSequenceNumber {
  if (!isSequenceNumber(sequenceNumber)) {
    throw new IllegalArgumentError(
      `Could not checkpoint at sequence number ${JSON.stringify(sequenceNumber)}: it is not a Kinesis sequence number (a decimal string)`,
    );
  }
  if (typeof subSequenceNumber !== 'number' || !Number.isSafeInteger(subSequenceNumber) || subSequenceNumber < 0) {
    throw new IllegalArgumentError(
      `Could not checkpoint at sub-sequence number ${String(subSequenceNumber)}: it must be a non-negative integer`,
    );
  }
  return esn(sequenceNumber, subSequenceNumber);
}

export const formatExtended = (v: ExtendedSequenceNumber): string =>
  v.subSequenceNumber === 0 ? v.sequenceNumber : `${v.sequenceNumber}.${v.subSequenceNumber}`;
