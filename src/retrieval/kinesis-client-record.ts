/**
 * One user record as the processor sees it: a plain Kinesis record, or one user record
 * unpacked from a KPL aggregate (then `aggregated` is true and `subSequenceNumber` is its index).
 */
export interface KinesisClientRecord {
  /** The payload. May be a view into the fetched bytes: copy it before keeping it past the batch if you mutate it. */
  data: Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  /** 0 for records that were not aggregated. */
  subSequenceNumber: number;
  aggregated: boolean;
  explicitHashKey?: string;
  approximateArrivalTimestamp: Date;
  encryptionType?: string;
}
