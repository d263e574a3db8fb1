import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CloudWatchClientLike } from '../metrics/cloudwatch-sink.ts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SchedulerConfig } from '../config.ts';
import { EventStreamHttp2Handler } from './event-stream-http2-handler.ts';
import { attachHttp1Client } from './http1/client-registry.ts';
import { silentLogger, type Logger } from './logger.ts';
import { LeanDynamoDBClient } from '../leases/dynamodb/lean/lean-dynamodb.ts';
import type { DynamoDBCaller } from '../leases/dynamodb/dynamodb-caller.ts';
import { accessOnDemand } from '../leases/dynamodb/lean/sdk-client-access.ts';

/**
 * The AWS clients a worker uses: the caller's when given (borrowed, never altered or destroyed),
 * otherwise built from `clientConfig` and destroyed on shutdown.
 */
export class AwsClients {
  readonly kinesis: KinesisClient;
  readonly dynamodb: DynamoDBClient;
  /**
   * What the lease table's calls on this thread go through (leases, the migration state, the coordinator-state
   * layout probe; the 3.x leader lock and worker metrics use `dynamodb`). On a DynamoDB client ts-kcl built: the lean
   * caller the renewal thread uses too (DynamoDB's JSON protocol on ts-kcl's own keep-alive HTTP/1.1 client,
   * with that client's region, endpoint, credentials and maxAttempts), which saves the SDK middleware's
   * cold start on a worker's first few dozen calls. On the app's `dynamoDBClient`: that client, so its
   * middleware and handler carry every lease call.
   */
  readonly leaseTable: DynamoDBCaller;
  private cloudwatchClient: CloudWatchClientLike | undefined;
  private fanOutKinesisClient: KinesisClient | undefined;
  private readonly owned: { destroy(): void }[] = [];

  /** `logger`: where the HTTP handlers of the clients built here report (the SDK's own would print to the console). */
  constructor(
    private readonly config: SchedulerConfig,
    logger: Logger = silentLogger,
  ) {
    const cc = config.clientConfig ?? {};
    const base = {
      ...(cc.region !== undefined ? { region: cc.region } : {}),
      ...(cc.credentials !== undefined ? { credentials: cc.credentials } : {}),
    };
    // Unary calls over HTTP/1.1 keep-alive: works against every endpoint (see README, local servers).
    this.kinesis = config.kinesisClient ?? this.ownWithLeanHttp(new KinesisClient({ ...base, ...endpoint(cc.endpoints?.kinesis), requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true }, httpsAgent: { keepAlive: true }, logger: handlerLogger(logger, 'Kinesis') }) }));
    this.dynamodb = config.dynamoDBClient ?? this.own(new DynamoDBClient({ ...base, ...endpoint(cc.endpoints?.dynamodb) }));
    this.leaseTable = config.dynamoDBClient ?? this.own(new LeanDynamoDBClient(accessOnDemand(this.dynamodb, cc.endpoints?.dynamodb)));
    this.cloudwatchClient = config.cloudWatchClient;
  }

  /**
   * Built on first use: a worker without CloudWatch metrics never loads `@aws-sdk/client-cloudwatch`
   * (an optional peer dependency).
   */
  async cloudwatch(): Promise<CloudWatchClientLike> {
    if (this.cloudwatchClient) return this.cloudwatchClient;
    const cc = this.config.clientConfig ?? {};
    const { CloudWatchClient: Client } = await loadCloudWatch();
    this.cloudwatchClient ??= this.own(
      new Client({
        ...(cc.region !== undefined ? { region: cc.region } : {}),
        ...(cc.credentials !== undefined ? { credentials: cc.credentials } : {}),
        ...endpoint(cc.endpoints?.cloudwatch),
      }),
    );
    return this.cloudwatchClient;
  }

  /**
   * The client for SubscribeToShard (enhanced fan-out), built on first use: `fanOutKinesisClient` when
   * given, else one from `clientConfig` on `endpoints.kinesisHttp2 ?? endpoints.kinesis` with an HTTP/2
   * handler that keeps event streams on the pooled session (see EventStreamHttp2Handler). Region and
   * credentials not in `clientConfig` come from a borrowed `kinesisClient`, so both reach one account.
   */
  get fanOutKinesis(): KinesisClient {
    if (this.fanOutKinesisClient) return this.fanOutKinesisClient;
    const cc = this.config.clientConfig ?? {};
    const borrowed = this.config.kinesisClient?.config;
    const region = cc.region ?? borrowed?.region;
    const credentials = cc.credentials ?? borrowed?.credentials;
    this.fanOutKinesisClient =
      this.config.fanOutKinesisClient ??
      this.own(
        new KinesisClient({
          ...(region !== undefined ? { region } : {}),
          ...(credentials !== undefined ? { credentials } : {}),
          ...endpoint(cc.endpoints?.kinesisHttp2 ?? cc.endpoints?.kinesis),
          // A session with no traffic at all for a minute (every subscription silent or paused) is dropped,
          // so a dead connection cannot hold every shard's resubscription (Java pings for the same reason).
          requestHandler: new EventStreamHttp2Handler({ sessionTimeout: 60000 }),
        }),
      );
    return this.fanOutKinesisClient;
  }

  /** A client of ours whose GetRecords may skip node:http too (lean-kinesis.ts): its handler has no app settings. */
  private ownWithLeanHttp<T extends { destroy(): void }>(client: T): T {
    this.own(attachHttp1Client(client));
    return this.own(client);
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

/**
 * The SDK handler's logger: its warnings (a full connection pool, a request timeout) through ts-kcl's
 * logger with what they mean here, instead of `console.warn` text about settings the app cannot reach.
 */
function handlerLogger(logger: Logger, service: string): { debug(): void; info(): void; warn(msg: string): void; error(msg: string): void } {
  const noop = (): void => {};
  return {
    debug: noop,
    info: noop,
    warn: (msg) =>
      logger.warn(
        { sdkMessage: msg },
        msg.includes('socket usage at capacity')
          ? `The ${service} client's 50 connections are all busy and calls are queued: expected for a moment while a worker opens hundreds of shards; if it lasts, the endpoint is slow to answer`
          : `The ${service} client's HTTP handler warned: ${msg}`,
      ),
    error: (msg) => logger.error({ sdkMessage: msg }, `The ${service} client's HTTP handler failed: ${msg}`),
  };
}

const endpoint = (url: string | undefined): { endpoint?: string } => (url === undefined ? {} : { endpoint: url });

/** `@aws-sdk/client-cloudwatch`, loaded only when CloudWatch metrics are on. */
export async function loadCloudWatch(): Promise<typeof import('@aws-sdk/client-cloudwatch')> {
  try {
    return await import('@aws-sdk/client-cloudwatch');
  } catch (err) {
    throw new Error('CloudWatch metrics need the @aws-sdk/client-cloudwatch package: npm install @aws-sdk/client-cloudwatch', { cause: err });
  }
}
