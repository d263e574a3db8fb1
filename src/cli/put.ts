import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { withDeadline } from '../common/deadline.ts';
import { backoffDelay, sleep } from '../common/backoff.ts';
import { AWS_FLAGS, clientConfigFrom, kinesisClient } from './aws-options.ts';
import { parseFlags, type CommandSpec } from './flags.ts';

export const PUT: CommandSpec = {
  name: 'put',
  summary: 'Puts test records into a stream (PutRecords, 500 a call; failed entries are retried).',
  flags: {
    stream: { kind: 'string', value: 'NAME', help: 'the stream name', required: true },
    count: { kind: 'int', help: 'number of records', default: '1' },
    data: { kind: 'string', value: 'TEXT', help: 'record data; {i} is replaced by the record number', default: 'record-{i}' },
    'partition-key': { kind: 'string', value: 'KEY', help: 'partition key; {i} is replaced by the record number', default: 'pk-{i}' },
    ...AWS_FLAGS,
  },
  notes: ['Example: ts-kcl put --stream my-stream --count 100 --data \'{"n":{i}}\''],
};

const MAX_ROUNDS = 10;

/** `ts-kcl put --stream NAME [--count N] [--data TEXT]` */
export async function runPut(args: string[]): Promise<number> {
  const flags = parseFlags(PUT, args);
  if (!flags) return 0;
  const stream = flags.required('stream');
  const count = flags.int('count')!;
  const data = flags.string('data')!;
  const key = flags.string('partition-key')!;
  const kinesis = kinesisClient(clientConfigFrom(flags));
  const perShard = new Map<string, number>();
  try {
    for (let first = 0; first < count; first += 500) {
      const entries = Array.from({ length: Math.min(500, count - first) }, (_, j): PutRecordsRequestEntry => {
        const i = String(first + j);
        return { Data: Buffer.from(data.replaceAll('{i}', i)), PartitionKey: key.replaceAll('{i}', i) };
      });
      for (const shard of await putAll(kinesis, stream, entries)) perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
    }
    const spread = [...perShard.entries()].sort().map(([s, n]) => `${s}: ${n}`).join(', ');
    process.stdout.write(`Put ${count} record${count === 1 ? '' : 's'} to ${stream} (${spread})\n`);
    return 0;
  } finally {
    kinesis.destroy();
  }
}

/** One PutRecords call and retries of the entries it refused (throttled); returns each record's shard. */
async function putAll(kinesis: KinesisClient, stream: string, entries: PutRecordsRequestEntry[]): Promise<string[]> {
  const shards: string[] = [];
  let pending = entries;
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_ROUNDS) throw new Error(`PutRecords kept refusing ${pending.length} records after ${MAX_ROUNDS} tries`);
    if (round > 0) await sleep(backoffDelay(round, 100, 2000));
    const out = await withDeadline(`Kinesis PutRecords ${stream}`, 30000, undefined, (abortSignal) =>
      kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: pending }), { abortSignal }),
    ).catch((err: unknown) => {
      throw new Error(`Kinesis PutRecords on ${stream} failed: ${(err as Error).message}`, { cause: err });
    });
    const refused: PutRecordsRequestEntry[] = [];
    (out.Records ?? []).forEach((r, j) => (r.ErrorCode ? refused.push(pending[j]!) : shards.push(r.ShardId ?? '?')));
    pending = refused;
  }
  return shards;
}
