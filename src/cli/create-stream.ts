import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { withDeadline } from '../common/deadline.ts';
import { sleep } from '../common/backoff.ts';
import { AWS_FLAGS, clientConfigFrom, kinesisClient } from './aws-options.ts';
import { parseFlags, type CommandSpec } from './flags.ts';

export const CREATE_STREAM: CommandSpec = {
  name: 'create-stream',
  summary: 'Creates a Kinesis stream and waits until it is ACTIVE. A stream that already exists is left as it is.',
  flags: {
    stream: { kind: 'string', value: 'NAME', help: 'the stream name', required: true },
    shards: { kind: 'int', help: 'number of shards', default: '1' },
    timeout: { kind: 'duration', help: 'how long to wait for ACTIVE', default: '60s' },
    ...AWS_FLAGS,
  },
  notes: ['Example: ts-kcl create-stream --stream my-stream --shards 4 --kinesis-endpoint http://127.0.0.1:4567'],
};

/** `ts-kcl create-stream --stream NAME [--shards N]` */
export async function runCreateStream(args: string[]): Promise<number> {
  const flags = parseFlags(CREATE_STREAM, args);
  if (!flags) return 0;
  const stream = flags.required('stream');
  const shards = flags.int('shards')!;
  const kinesis = kinesisClient(clientConfigFrom(flags));
  try {
    const created = await createStream(kinesis, stream, shards);
    const active = await waitActive(kinesis, stream, flags.duration('timeout')!);
    process.stdout.write(`${created ? 'Created' : 'Stream already exists:'} ${stream} (${active.shards} open shard${active.shards === 1 ? '' : 's'}, ACTIVE)\n`);
    return 0;
  } finally {
    kinesis.destroy();
  }
}

async function createStream(kinesis: KinesisClient, stream: string, shards: number): Promise<boolean> {
  try {
    await withDeadline(`Kinesis CreateStream ${stream}`, 30000, undefined, (abortSignal) => kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }), { abortSignal }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'ResourceInUseException') return false;
    throw new Error(`Kinesis CreateStream ${stream} failed: ${(err as Error).message}`, { cause: err });
  }
}

async function waitActive(kinesis: KinesisClient, stream: string, timeoutMs: number): Promise<{ shards: number }> {
  const deadline = performance.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    const out = await withDeadline(`Kinesis DescribeStreamSummary ${stream}`, 30000, undefined, (abortSignal) =>
      kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }), { abortSignal }),
    );
    const summary = out.StreamDescriptionSummary;
    if (summary?.StreamStatus === 'ACTIVE') return { shards: summary.OpenShardCount ?? 0 };
    if (performance.now() > deadline) throw new Error(`Stream ${stream} is ${summary?.StreamStatus ?? 'unknown'}, not ACTIVE, after ${timeoutMs} ms`);
    await sleep(delay);
  }
}
