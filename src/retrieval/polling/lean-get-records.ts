import type { GetRecordsCommandOutput, KinesisClient, _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { pause } from '../../common/backoff.ts';
import { THROTTLING_ERROR_NAMES, TRANSIENT_ERROR_NAMES, TRANSIENT_STATUS_CODES } from '../../common/aws-error-classification.ts';
import { sdkEndpointParams, type SdkEndpointConfig } from '../../common/sdk-endpoint.ts';
import { AwsServiceError, parseAwsJsonError } from '../../common/aws-service-error.ts';

/** GetRecords' input, as the SDK command takes it. */
export interface GetRecordsInput {
  ShardIterator: string;
  Limit: number;
  StreamARN?: string;
}

/** The pieces of the SDK client the lean path uses: its own signer, endpoint rules, HTTP handler and retry strategy. */
interface ResolvedPieces {
  signer: { sign(request: HttpRequestLike, options?: { signingDate?: Date }): Promise<HttpRequestLike> };
  handler: { handle(request: HttpRequestLike, options: { abortSignal: AbortSignal }): Promise<{ response: HttpResponseLike }> };
  retry: RetryStrategy;
  endpoint: (streamArn: string | undefined) => Promise<URL>;
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

const shared = new WeakMap<KinesisClient, LeanGetRecords>();

/** One lean path per SDK client (its connections, credentials and retry quota are the client's). */
export function leanGetRecordsFor(kinesis: KinesisClient): LeanGetRecords {
  let lean = shared.get(kinesis);
  if (!lean) shared.set(kinesis, (lean = new LeanGetRecords(kinesis)));
  return lean;
}

/**
 * GetRecords without the SDK's middleware stack, for the poll loop's hot path: the request is signed
 * by the client's own SigV4 signer (its credential providers and clock offset), sent through the
 * client's own HTTP handler (keep-alive pool, TLS and proxy settings), retried by the client's own
 * retry strategy, and the JSON answer decoded straight into what `GetRecordsCommand` returns: `Data`
 * as bytes, `ApproximateArrivalTimestamp` as a Date, errors with the SDK's names. Every other call
 * stays on the SDK.
 */
export class LeanGetRecords {
  private pieces: Promise<ResolvedPieces> | undefined;

  constructor(private readonly kinesis: KinesisClient) {}

  async send(input: GetRecordsInput, abortSignal: AbortSignal): Promise<GetRecordsCommandOutput> {
    const pieces = await (this.pieces ??= this.resolve());
    const body = JSON.stringify(input);
    let token = await pieces.retry.acquireInitialRetryToken('kinesis:GetRecords');
    for (let attempts = 1; ; attempts++) {
      try {
        const out = await this.attempt(pieces, input.StreamARN, body, abortSignal, attempts);
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

  private async attempt(pieces: ResolvedPieces, streamArn: string | undefined, body: string, abortSignal: AbortSignal, attempts: number): Promise<GetRecordsCommandOutput> {
    const url = await pieces.endpoint(streamArn);
    const request: HttpRequestLike = {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'Kinesis_20131202.GetRecords',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    };
    const offset = (this.kinesis.config as { systemClockOffset?: number }).systemClockOffset ?? 0;
    const signed = await pieces.signer.sign(request, { signingDate: new Date(Date.now() + offset) });
    const { response } = await pieces.handler.handle(signed, { abortSignal });
    const text = await readBody(response.body);
    const requestId = response.headers['x-amzn-requestid'];
    if (response.statusCode < 200 || response.statusCode >= 300) throw serviceError(response, text, requestId, attempts);
    return decode(text, response.statusCode, requestId, attempts);
  }

  private async resolve(): Promise<ResolvedPieces> {
    const config = this.kinesis.config as unknown as SdkEndpointConfig & {
      signer: () => Promise<ResolvedPieces['signer']>;
      requestHandler: ResolvedPieces['handler'];
      retryStrategy: () => Promise<RetryStrategy>;
      endpointProvider: (params: Record<string, unknown>) => { url: URL };
    };
    const [signer, retry, params] = await Promise.all([config.signer(), config.retryStrategy(), sdkEndpointParams(config)]);
    const base = { ...params, OperationType: 'data' };
    const urls = new Map<string | undefined, URL>();
    const endpoint = (streamArn: string | undefined): Promise<URL> => {
      let url = urls.get(streamArn);
      if (!url) urls.set(streamArn, (url = config.endpointProvider({ ...base, ...(streamArn ? { StreamARN: streamArn } : {}) }).url));
      return Promise.resolve(url);
    };
    return { signer, handler: config.requestHandler, retry, endpoint };
  }
}

async function readBody(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

interface WireRecord {
  Data?: string;
  PartitionKey?: string;
  SequenceNumber?: string;
  ApproximateArrivalTimestamp?: number;
  EncryptionType?: string;
}

/** The JSON answer as `GetRecordsCommand` returns it; `Data` decoded once, as a view of its own bytes. */
function decode(text: string, statusCode: number, requestId: string | undefined, attempts: number): GetRecordsCommandOutput {
  const wire = JSON.parse(text) as { Records?: WireRecord[]; NextShardIterator?: string; MillisBehindLatest?: number; ChildShards?: GetRecordsCommandOutput['ChildShards'] };
  const out: GetRecordsCommandOutput = { $metadata: { httpStatusCode: statusCode, ...(requestId !== undefined ? { requestId } : {}), attempts }, Records: wire.Records ? records(wire.Records) : undefined };
  if (wire.NextShardIterator !== undefined && wire.NextShardIterator !== null) out.NextShardIterator = wire.NextShardIterator;
  if (wire.MillisBehindLatest !== undefined) out.MillisBehindLatest = wire.MillisBehindLatest;
  if (wire.ChildShards !== undefined) out.ChildShards = wire.ChildShards;
  return out;
}

function records(wire: WireRecord[]): KinesisRecord[] {
  const out = new Array<KinesisRecord>(wire.length);
  for (const [i, r] of wire.entries()) {
    const bytes = Buffer.from(r.Data ?? '', 'base64');
    const record: KinesisRecord = {
      SequenceNumber: r.SequenceNumber,
      PartitionKey: r.PartitionKey,
      Data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    };
    if (r.ApproximateArrivalTimestamp !== undefined) record.ApproximateArrivalTimestamp = new Date(Math.round(r.ApproximateArrivalTimestamp * 1000));
    if (r.EncryptionType !== undefined) record.EncryptionType = r.EncryptionType as KinesisRecord['EncryptionType'];
    out[i] = record;
  }
  return out;
}

/** The SDK's error for a GetRecords error answer. */
function serviceError(response: HttpResponseLike, text: string, requestId: string | undefined, attempts: number): AwsServiceError {
  const { name, message } = parseAwsJsonError(text, response.statusCode, response.headers['x-amzn-errortype']);
  return new AwsServiceError(name, message ?? `GetRecords failed with HTTP ${response.statusCode}`, response.statusCode, requestId, attempts);
}

function classify(err: unknown): ErrorType {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || THROTTLING_ERROR_NAMES.has(e.name ?? '')) return 'THROTTLING';
  if (TRANSIENT_ERROR_NAMES.has(e.name ?? '') || NETWORK_CODES.has(e.code ?? '') || (status !== undefined && TRANSIENT_STATUS_CODES.has(status))) return 'TRANSIENT';
  return status !== undefined && status >= 500 ? 'SERVER_ERROR' : 'CLIENT_ERROR';
}
