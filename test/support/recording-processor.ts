import type { KinesisClientRecord, ShardRecordProcessor, ShardRecordProcessorFactory, ExtendedSequenceNumber } from '../../src/index.ts';

export interface Delivery {
  shardId: string;
  data: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  partitionKey: string;
}

/** What processors saw, across every shard and processor instance of a test. */
export class Recorder {
  readonly deliveries: Delivery[] = [];
  readonly calls: { shardId: string; method: string; at?: ExtendedSequenceNumber }[] = [];
  readonly processors = new Map<string, ShardRecordProcessor[]>();

  dataSet(): Set<string> {
    return new Set(this.deliveries.map((d) => d.data));
  }
  byShard(shardId: string): Delivery[] {
    return this.deliveries.filter((d) => d.shardId === shardId);
  }
  methods(shardId: string): string[] {
    return this.calls.filter((c) => c.shardId === shardId).map((c) => c.method);
  }
}

export interface RecordingOptions {
  /** Checkpoint after each batch (default true). */
  checkpointEachBatch?: boolean;
  /** Checkpoint in shutdownRequested (default true). */
  checkpointOnShutdown?: boolean;
  /** Checkpoint in shardEnded (default true). */
  checkpointOnShardEnd?: boolean;
  onRecords?: (records: KinesisClientRecord[], shardId: string) => void | Promise<void>;
}

/** A processor factory that records everything and checkpoints as told. */
export function recordingFactory(recorder: Recorder, options: RecordingOptions = {}): ShardRecordProcessorFactory {
  return ({ shardId }) => {
    const processor: ShardRecordProcessor = {
      initialize: (input) => {
        recorder.calls.push({ shardId, method: 'initialize', at: input.extendedSequenceNumber });
      },
      processRecords: async (input) => {
        recorder.calls.push({ shardId, method: 'processRecords' });
        await options.onRecords?.(input.records, shardId);
        for (const r of input.records) {
          recorder.deliveries.push({ shardId, data: Buffer.from(r.data).toString(), sequenceNumber: r.sequenceNumber, subSequenceNumber: r.subSequenceNumber, partitionKey: r.partitionKey });
        }
        if (options.checkpointEachBatch !== false && input.records.length > 0) await input.checkpointer.checkpoint();
      },
      leaseLost: () => {
        recorder.calls.push({ shardId, method: 'leaseLost' });
      },
      shardEnded: async (input) => {
        recorder.calls.push({ shardId, method: 'shardEnded' });
        if (options.checkpointOnShardEnd !== false) await input.checkpointer.checkpoint();
      },
      shutdownRequested: async (input) => {
        recorder.calls.push({ shardId, method: 'shutdownRequested' });
        if (options.checkpointOnShutdown !== false) await input.checkpointer.checkpoint();
      },
    };
    recorder.processors.set(shardId, [...(recorder.processors.get(shardId) ?? []), processor]);
    return processor;
  };
}

/** Multi-stream tests: records every delivery as `stream/data` and each start as `stream/shard@position`, checkpointing each batch and at shard end. */
export function streamRecorder(): { factory: ShardRecordProcessorFactory; seen: string[]; initialized: string[] } {
  const seen: string[] = [];
  const initialized: string[] = [];
  const factory: ShardRecordProcessorFactory = ({ shardId, streamName }) => ({
    initialize: (input) => void initialized.push(`${streamName}/${shardId}@${input.extendedSequenceNumber.sequenceNumber}`),
    processRecords: async (input) => {
      for (const r of input.records) seen.push(`${streamName}/${Buffer.from(r.data).toString()}`);
      if (input.records.length > 0) await input.checkpointer.checkpoint();
    },
    leaseLost: () => undefined,
    shardEnded: (input) => input.checkpointer.checkpoint(),
    shutdownRequested: (input) => input.checkpointer.checkpoint(),
  });
  return { factory, seen, initialized };
}
