import { InitializationError } from '../errors.ts';
import type { Lease } from '../leases/lease.ts';
import { splitMultiStreamLeaseKey } from './multi-stream-lease-key.ts';

/** The serialized StreamIdentifier of a multi-stream lease (its `streamName` attribute, else its key); undefined for a single-stream lease. */
export const streamOfLease = (lease: Lease): string | undefined => lease.streamIdentifier ?? splitMultiStreamLeaseKey(lease.leaseKey)?.streamIdentifier;

/**
 * A lease table serves one mode: single-stream keys are shard ids, multi-stream keys name the stream.
 * Reading one as the other would create a second set of leases for the same shards and consume them
 * twice, so a mismatch stops start-up with the cause and the fix (as the Java FAQ says: not compatible).
 */
/** The table's leases are of the other mode: retrying cannot help. */
export class LeaseTableModeError extends InitializationError {}

export function assertLeaseTableMode(leases: Lease[], multiStream: boolean, table: string): void {
  const other = leases.find((l) => (streamOfLease(l) !== undefined) !== multiStream);
  if (!other) return;
  const [found, configured, field] = multiStream ? ['single-stream', 'multi-stream', 'streams'] : ['multi-stream', 'single-stream', 'streamName/streamArn'];
  throw new LeaseTableModeError(
    `Lease table ${table} holds ${found} leases (leaseKey ${other.leaseKey}) but this worker runs in ${configured} mode (${field}): ` +
      `the two key formats cannot share a table. Use another applicationName (or lease.tableName) for the ${configured} application, or configure it as the table's existing workers are.`,
  );
}
