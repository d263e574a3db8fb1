import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SchedulerConfig } from '../config.ts';

/**
 * The AWS clients a worker uses: the caller's when given (borrowed, never altered or destroyed),
 * otherwise built from `clientConfig` and destroyed on shutdown.
 */
export class AwsClients {
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  private cloudwatchClient: CloudWatchClient | undefined;
  private readonly owned: { destroy(): void }[] = [];

  constructor(private readonly config: SchedulerConfig) {
    const cc = config.clientConfig ?? {};
    const base = {
      ...(cc.region !== undefined ? { region: cc.region } : {}),
      ...(cc.credentials !== undefined ? { credentials: cc.credentials } : {}),
    };
    // Unary calls over HTTP/1.1 keep-alive: works against every endpoint (see README, local servers).
    this.kinesis = config.kinesisClient ?? this.own(new KinesisClient({ ...base, ...endpoint(cc.endpoints?.kinesis), requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true }, httpsAgent: { keepAlive: true } }) }));
    this.dynamodb = config.dynamoDBClient ?? this.own(new DynamoDBClient({ ...base, ...endpoint(cc.endpoints?.dynamodb) }));
    this.cloudwatchClient = config.cloudWatchClient;
  }

  /** Built on first use: a worker without CloudWatch metrics never creates it. */
  get cloudwatch(): CloudWatchClient {
    const cc = this.config.clientConfig ?? {};
    this.cloudwatchClient ??= this.own(
      new CloudWatchClient({
        ...(cc.region !== undefined ? { region: cc.region } : {}),
        ...(cc.credentials !== undefined ? { credentials: cc.credentials } : {}),
        ...endpoint(cc.endpoints?.cloudwatch),
      }),
    );
    return this.cloudwatchClient;
  }

  private own<T extends { destroy(): void }>(client: T): T {
    this.owned.push(client);
    return client;
  }

  /** Destroys only the clients built here. */
  destroy(): void {
    for (const client of this.owned.splice(0)) client.destroy();
  }
}

const endpoint = (url: string | undefined): { endpoint?: string } => (url === undefined ? {} : { endpoint: url });
