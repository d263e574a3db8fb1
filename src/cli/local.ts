import { parseArgs } from 'node:util';
import { startLocalServers, type KinesisServerKind } from '../local/local-servers.ts';

/** `ts-kcl local`: start both local servers, print endpoints and a config, stay up until Ctrl-C. */
export async function runLocal(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { kinesis: { type: 'string', default: 'kinesis-local' }, 'kinesis-port': { type: 'string' }, 'dynamodb-port': { type: 'string' } },
  });
  const kind = values.kinesis as KinesisServerKind;
  if (kind !== 'kinesis-local' && kind !== 'kinesalite') throw new Error(`--kinesis must be kinesis-local or kinesalite, not ${String(kind)}`);
  const servers = await startLocalServers({
    kinesis: kind,
    ...(values['kinesis-port'] ? { kinesisPort: Number(values['kinesis-port']) } : {}),
    ...(values['dynamodb-port'] ? { dynamodbPort: Number(values['dynamodb-port']) } : {}),
  });
  const endpoints = {
    kinesis: servers.kinesis.endpoint,
    ...(servers.kinesis.http2Endpoint ? { kinesisHttp2: servers.kinesis.http2Endpoint } : {}),
    dynamodb: servers.dynamodb.endpoint,
  };
  process.stdout.write(
    [
      `Kinesis (${kind}): ${endpoints.kinesis}${servers.kinesis.http2Endpoint ? `  (HTTP/2 for fan-out: ${servers.kinesis.http2Endpoint})` : ''}`,
      `DynamoDB (dynalite): ${endpoints.dynamodb}`,
      '',
      'Scheduler config:',
      `  clientConfig: { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, endpoints: ${JSON.stringify(endpoints)} }`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await servers.stop();
  return 0;
}
