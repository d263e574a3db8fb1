import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { FlagSpec, Flags } from './flags.ts';

/** The endpoint and region flags, spelled the same in every command. */
export const AWS_FLAGS: Record<string, FlagSpec> = {
  'kinesis-endpoint': { kind: 'string', value: 'URL', help: 'Kinesis endpoint (default: AWS_ENDPOINT_URL_KINESIS, else AWS)' },
  'dynamodb-endpoint': { kind: 'string', value: 'URL', help: 'DynamoDB endpoint (default: AWS_ENDPOINT_URL_DYNAMODB, else AWS)', deprecated: ['endpoint'] },
  region: { kind: 'string', value: 'REGION', help: 'AWS region (default: AWS_REGION; us-east-1 for local endpoints)' },
};

export interface CliClientConfig {
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  endpoints: { kinesis?: string; dynamodb?: string };
}

const LOCAL = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/;

/**
 * Client config from the flags. The region and credentials come from the default AWS chain, except
 * against local endpoints, which need neither (us-east-1 and dummy keys unless the environment has some).
 */
export function clientConfigFrom(flags: Flags): CliClientConfig {
  const kinesis = flags.string('kinesis-endpoint');
  const dynamodb = flags.string('dynamodb-endpoint');
  const local = [kinesis ?? process.env.AWS_ENDPOINT_URL_KINESIS, dynamodb ?? process.env.AWS_ENDPOINT_URL_DYNAMODB].some((u) => u !== undefined && LOCAL.test(u));
  const region = flags.string('region') ?? process.env.AWS_REGION ?? (local ? 'us-east-1' : undefined);
  return {
    ...(region !== undefined ? { region } : {}),
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    endpoints: { ...(kinesis ? { kinesis } : {}), ...(dynamodb ? { dynamodb } : {}) },
  };
}

const base = (cc: CliClientConfig): { region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } => ({
  ...(cc.region !== undefined ? { region: cc.region } : {}),
  ...(cc.credentials ? { credentials: cc.credentials } : {}),
});

/** Unary Kinesis calls over HTTP/1.1: works against every endpoint, plain local ports included. */
export const kinesisClient = (cc: CliClientConfig): KinesisClient =>
  new KinesisClient({ ...base(cc), ...(cc.endpoints.kinesis ? { endpoint: cc.endpoints.kinesis } : {}), requestHandler: new NodeHttpHandler({ requestTimeout: 30000 }) });

export const dynamoDBClient = (cc: CliClientConfig): DynamoDBClient =>
  new DynamoDBClient({ ...base(cc), ...(cc.endpoints.dynamodb ? { endpoint: cc.endpoints.dynamodb } : {}), requestHandler: new NodeHttpHandler({ requestTimeout: 30000 }) });
