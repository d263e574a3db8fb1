import { putRecords, type TestEnv } from './env.ts';

/** Continuous production until stopped: unique ids (`rec-N`), random partition keys (every shard gets a share). */
export function startProducer(env: TestEnv, stream: string, batchSize = 24): { stop(): Promise<number>; produced: Set<string> } {
  const produced = new Set<string>();
  let running = true;
  let next = 0;
  const loop = (async () => {
    while (running) {
      const batch = Array.from({ length: batchSize }, () => ({ partitionKey: `k${Math.random()}`, data: `rec-${next++}` }));
      await putRecords(env.kinesis, stream, batch);
      for (const r of batch) produced.add(r.data);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    produced,
    stop: async () => {
      running = false;
      await loop;
      return produced.size;
    },
  };
}
