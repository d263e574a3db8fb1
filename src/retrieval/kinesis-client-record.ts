/**
 * One user record as the processor sees it: a plain Kinesis record, or one user record
 * unpacked from a KPL aggregate (then `aggregated` is true and `subSequenceNumber` is its index).
 */
export interface KinesisClientRecord {
  /** The payload. May be a view into the fetched bytes: copy it before keeping it past the batch if you mutate it. */
  data: Uint8Array;
  /** The partition key the producer gave. */
  partitionKey: string;
  /** The Kinesis sequence number (shared by every user record of one aggregate). */
  sequenceNumber: string;
  /** 0 for records that were not aggregated. */
  subSequenceNumber: number;
  /** True when the record was unpacked from a KPL aggregate. */
  aggregated: boolean;
  /** The explicit hash key the producer gave, if any. */
  explicitHashKey?: string;
  /** When Kinesis accepted the record. */
  approximateArrivalTimestamp: Date;
  /** `KMS` for server-side encrypted records. */
  encryptionType?: string;
}
