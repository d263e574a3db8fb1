// Continuous tagged production straight to the Kinesis server (not through a proxy), with retries.
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { Put } from './checks.ts';
import { pickOne, type Random } from './random.ts';

export interface Producer {
  /** Acknowledged records, in acknowledgement order. */
  readonly acked: Put[];
  failures: number;
  stop(): Promise<void>;
}

/**
 * Every `intervalMs`, puts `batch` records on random keys. A record's data is `id|key|n`, n counting
 * the key's records in put order; a record the server refused is put again with a new id and n, so n
 * always follows the order in which the key's records landed.
 */
export function startProducer(kinesis: KinesisClient, stream: string, random: Random, options: { keys: number; batch: number; intervalMs: number }): Producer {
  const keys = Array.from({ length: options.keys }, (_, i) => `key-${i}`);
  const counters = new Map<string, number>();
  const state: Producer = { acked: [], failures: 0, stop: () => done };
  let running = true;
  let nextId = 0;
  let pending: string[] = [];
  const tag = (key: string): { key: string; data: string; n: number } => {
    const n = counters.get(key) ?? 0;
    counters.set(key, n + 1);
    return { key, n, data: `r${nextId++}|${key}|${n}` };
  };
  const once = async (): Promise<void> => {
    const keysNow = [...pending, ...Array.from({ length: options.batch }, () => pickOne(random, keys))];
    pending = [];
    const records = keysNow.map(tag);
    try {
      const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: records.map((r) => ({ PartitionKey: r.key, Data: Buffer.from(r.data) })) }));
      const at = Date.now();
      out.Records?.forEach((r, i) => {
        const rec = records[i]!;
        if (r.SequenceNumber && r.ShardId) state.acked.push({ id: rec.data, key: rec.key, n: rec.n, shardId: r.ShardId, seq: r.SequenceNumber, at });
        else pending.push(rec.key);
      });
    } catch {
      // Unknown whether they landed: put the keys again under new ids; an unacknowledged record the
      // workers deliver anyway is not in the put log, so it is neither required nor counted as a gap.
      state.failures++;
      pending.push(...records.map((r) => r.key));
    }
  };
  const done = (async () => {
    while (running) {
      await once();
      if (running) await new Promise((r) => setTimeout(r, options.intervalMs));
    }
    if (pending.length > 0) await once();
  })();
  state.stop = async () => {
    running = false;
    await done;
  };
  return state;
}
