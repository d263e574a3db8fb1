import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * A lock as the DynamoDB lock client (com.amazonaws:dynamodb-lock-client) sees it. Only times
 * local to this process count: a lock is expired once `leaseDurationMillis` has passed since we
 * last saw its record version change (lookupTime), never by comparing clocks across hosts.
 */
export interface LockItem {
  readonly partitionKey: string;
  readonly ownerName: string;
  readonly leaseDurationMillis: number;
  /** A UUID rewritten by every acquire and heartbeat; '' on a lock read but not held. */
  recordVersionNumber: string;
  /** Monotonic ms when we wrote or read this version (0 on a lock read but not held: it counts as expired). */
  lookupTimeMillis: number;
  readonly isReleased: boolean;
  readonly deleteLockOnRelease: boolean;
  /** The item's other attributes (e.g. `entityType`). */
  readonly additionalAttributes: Record<string, AttributeValue>;
}

export function isLockExpired(lock: LockItem, nowMillis: number): boolean {
  return lock.isReleased || nowMillis - lock.lookupTimeMillis > lock.leaseDurationMillis;
}

/** Attribute names the Java lock client writes. */
export const LOCK_ATTRIBUTES = {
  ownerName: 'ownerName',
  leaseDuration: 'leaseDuration',
  recordVersionNumber: 'recordVersionNumber',
  isReleased: 'isReleased',
  data: 'data',
} as const;
export const IS_RELEASED_VALUE = '1';
