import type { GetRecordsCommandOutput, GetShardIteratorCommandInput, GetShardIteratorCommandOutput, KinesisClient } from '@aws-sdk/client-kinesis';
import { decodeGetRecords } from './get-records-decoder.ts';
import { pause } from '../../common/backoff.ts';
import { THROTTLING_ERROR_NAMES, TRANSIENT_ERROR_NAMES, TRANSIENT_STATUS_CODES } from '../../common/aws-error-classification.ts';
import { sdkEndpointParams, type SdkEndpointConfig } from '../../common/sdk-endpoint.ts';
import { AwsServiceError, parseAwsJsonError } from '../../common/aws-service-error.ts';
import { awsJsonHeaders, KINESIS_JSON } from '../../common/aws-json-protocol.ts';
import { http1ClientOf } from '../../common/http1/client-registry.ts';
import type { AbortLike } from '../../common/deadline.ts';
import type { KeepAliveHttp1Client } from '../../common/http1/keep-alive-client.ts';
import { signRequest, type SigningCredentials } from '../../common/sigv4.ts';

/** GetRecords' input, as the SDK command takes it. */
export interface GetRecordsInput {
  ShardIterator: string;
  Limit: number;
  StreamARN?: string;
}

/** The pieces of the SDK client the lean path uses: its endpoint rules and retry strategy, and a way to send. */
interface ResolvedPieces {
  send: Transport;
  retry: RetryStrategy;
  endpoint: (streamArn: string | undefined) => Endpoint;
}
/** Where a stream's calls go, and the region they are signed for. */
interface Endpoint {
  url: URL;
  signingRegion: string;
}
/** One signed POST of a request body: the answer's status, headers (lower-case names) and bytes. */
type Transport = (endpoint: Endpoint, request: HttpRequestLike, abortSignal: AbortLike) => Promise<{ statusCode: number; header: (name: string) => string | undefined; body: Buffer }>;
interface ClientPieces extends SdkEndpointConfig {
  signer: () => Promise<{ sign(request: HttpRequestLike, options?: { signingDate?: Date }): Promise<HttpRequestLike> }>;
  requestHandler: { handle(request: HttpRequestLike, options: { abortSignal: AbortLike }): Promise<{ response: HttpResponseLike }> };
  retryStrategy: () => Promise<RetryStrategy>;
  endpointProvider: (params: Record<string, unknown>) => { url: URL; properties?: { authSchemes?: { signingRegion?: string }[] } };
  credentials: () => Promise<SigningCredentials>;
  systemClockOffset?: number;
}
interface HttpRequestLike {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}
interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: AsyncIterable<Uint8Array> & { destroy?: () => void };
}
interface RetryToken {
  getRetryDelay(): number;
  getRetryCount(): number;
}
interface RetryStrategy {
  acquireInitialRetryToken(scope: string): Promise<RetryToken>;
  refreshRetryTokenForRetry(token: RetryToken, info: { errorType: ErrorType }): Promise<RetryToken>;
  recordSuccess(token: RetryToken): void;
}
type ErrorType = 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR';

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

const shared = new WeakMap<KinesisClient, LeanKinesis>();

/** One lean path per SDK client (its connections, credentials and retry quota are the client's). */
export function leanKinesisFor(kinesis: KinesisClient): LeanKinesis {
  let lean = shared.get(kinesis);
  if (!lean) shared.set(kinesis, (lean = new LeanKinesis(kinesis)));
  return lean;
}

/**
 * GetRecords and GetShardIterator without the SDK's middleware stack, for the poll loop's hot path (and
 * a 1,000-shard start-up's burst of iterators): retried by the client's own retry strategy, sent to the
 * client's own endpoint, and the JSON answer decoded straight into what the SDK's commands return:
 * `Data` as bytes, `ApproximateArrivalTimestamp` as a Date, errors with the SDK's names. Every other call
 * stays on the SDK. How it is sent depends on whose client it is:
 * - a client ts-kcl built (no app settings in its handler): signed on node:crypto with the client's
 *   credential provider and clock offset, sent on ts-kcl's own keep-alive HTTP/1.1 client
 *   (common/http1), which costs about a third less per idle poll than the SDK's node:http handler;
 * - a client the app passed: signed by the client's own SigV4 signer and sent through the client's own
 *   HTTP handler, so its proxy, TLS and agent settings hold.
 */
export class LeanKinesis {
  private pieces: Promise<ResolvedPieces> | undefined;

  constructor(private readonly kinesis: KinesisClient) {}

  getRecords(input: GetRecordsInput, abortSignal: AbortLike): Promise<GetRecordsCommandOutput> {
    return this.call('GetRecords', JSON.stringify(input), input.StreamARN, abortSignal, decodeGetRecords);
  }

  /** `Timestamp` goes as epoch seconds, as the SDK's JSON 1.1 serializer sends it. */
  getShardIterator(input: GetShardIteratorCommandInput, abortSignal: AbortLike): Promise<GetShardIteratorCommandOutput> {
    const body = JSON.stringify({ ...input, ...(input.Timestamp ? { Timestamp: input.Timestamp.getTime() / 1000 } : {}) });
    return this.call('GetShardIterator', body, input.StreamARN, abortSignal, (answer, $metadata) => {
      const out = JSON.parse(answer.toString('utf8')) as { ShardIterator?: string };
      return { $metadata, ...(out.ShardIterator !== undefined ? { ShardIterator: out.ShardIterator } : {}) };
    });
  }

  private async call<T>(operation: string, body: string, streamArn: string | undefined, abortSignal: AbortLike, decodeAnswer: Decoder<T>): Promise<T> {
    const pieces = await (this.pieces ??= this.resolve());
    let token = await pieces.retry.acquireInitialRetryToken(`kinesis:${operation}`);
    for (let attempts = 1; ; attempts++) {
      try {
        const out = await this.attempt(pieces, operation, streamArn, body, abortSignal, attempts, decodeAnswer);
        pieces.retry.recordSuccess(token);
        return out;
      } catch (err) {
        if (abortSignal.aborted) throw err;
        try {
          token = await pieces.retry.refreshRetryTokenForRetry(token, { errorType: classify(err) });
        } catch {
          throw err; // not retriable, or out of attempts: the last failure, as the SDK throws it
        }
        await pause(token.getRetryDelay(), abortSignal);
      }
    }
  }

  private async attempt<T>(pieces: ResolvedPieces, operation: string, streamArn: string | undefined, body: string, abortSignal: AbortLike, attempts: number, decodeAnswer: Decoder<T>): Promise<T> {
    const endpoint = pieces.endpoint(streamArn);
    const url = endpoint.url;
    const request: HttpRequestLike = {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers: awsJsonHeaders(KINESIS_JSON, url.host, operation, body),
      body,
    };
    const response = await pieces.send(endpoint, request, abortSignal);
    const requestId = response.header('x-amzn-requestid');
    if (response.statusCode < 200 || response.statusCode >= 300) throw serviceError(operation, response.statusCode, response.header('x-amzn-errortype'), response.body.toString('utf8'), requestId, attempts);
    return decodeAnswer(response.body, { httpStatusCode: response.statusCode, ...(requestId !== undefined ? { requestId } : {}), attempts });
  }

  private async resolve(): Promise<ResolvedPieces> {
    const config = this.kinesis.config as unknown as ClientPieces;
    const [retry, params] = await Promise.all([config.retryStrategy(), sdkEndpointParams(config)]);
    const base = { ...params, OperationType: 'data' };
    const endpoints = new Map<string | undefined, Endpoint>();
    const endpoint = (streamArn: string | undefined): Endpoint => {
      let found = endpoints.get(streamArn);
      if (!found) {
        const { url, properties } = config.endpointProvider({ ...base, ...(streamArn ? { StreamARN: streamArn } : {}) });
        endpoints.set(streamArn, (found = { url, signingRegion: properties?.authSchemes?.[0]?.signingRegion ?? params.Region }));
      }
      return found;
    };
    const http = http1ClientOf(this.kinesis);
    return { send: http ? ownTransport(config, http) : await sdkTransport(config), retry, endpoint };
  }
}

/** Through the client's own signer and HTTP handler (an app's client: its settings hold). */
async function sdkTransport(config: ClientPieces): Promise<Transport> {
  const signer = await config.signer();
  return async (_endpoint, request, abortSignal) => {
    const signed = await signer.sign(request, { signingDate: new Date(Date.now() + (config.systemClockOffset ?? 0)) });
    const { response } = await config.requestHandler.handle(signed, { abortSignal });
    return { statusCode: response.statusCode, header: (name) => response.headers[name], body: await readBody(response.body) };
  };
}

/** Signed here with the client's credentials and sent on ts-kcl's own HTTP/1.1 client (a client ts-kcl built). */
function ownTransport(config: ClientPieces, http: KeepAliveHttp1Client): Transport {
  return async ({ url, signingRegion }, request, abortSignal) => {
    const credentials = await config.credentials();
    const headers = signRequest(request, credentials, signingRegion, 'kinesis', new Date(Date.now() + (config.systemClockOffset ?? 0)));
    const response = await http.request({ origin: url, method: 'POST', path: request.path, headers, body: request.body }, abortSignal);
    return { statusCode: response.status, header: (name) => response.headers.get(name), body: response.body };
  };
}

async function readBody(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A successful answer's bytes, as the SDK command returns it. */
type Decoder<T> = (body: Buffer, $metadata: GetRecordsCommandOutput['$metadata']) => T;

/** The SDK's error for an error answer. */
function serviceError(operation: string, statusCode: number, errorType: string | undefined, text: string, requestId: string | undefined, attempts: number): AwsServiceError {
  const { name, message } = parseAwsJsonError(text, statusCode, errorType);
  return new AwsServiceError(name, message ?? `${operation} failed with HTTP ${statusCode}`, statusCode, requestId, attempts);
}

function classify(err: unknown): ErrorType {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || THROTTLING_ERROR_NAMES.has(e.name ?? '')) return 'THROTTLING';
  if (TRANSIENT_ERROR_NAMES.has(e.name ?? '') || NETWORK_CODES.has(e.code ?? '') || (status !== undefined && TRANSIENT_STATUS_CODES.has(status))) return 'TRANSIENT';
  return status !== undefined && status >= 500 ? 'SERVER_ERROR' : 'CLIENT_ERROR';
}
