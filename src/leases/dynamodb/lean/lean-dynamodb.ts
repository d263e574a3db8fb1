import { KeepAliveHttp1Client, abortError } from '../../../common/http1/keep-alive-client.ts';
import { signRequest, type SigningCredentials } from '../../../common/sigv4.ts';
import { sleep } from '../../../common/backoff.ts';
import { THROTTLING_ERROR_NAMES, TRANSIENT_ERROR_NAMES, TRANSIENT_STATUS_CODES } from '../../../common/aws-error-classification.ts';
import { AwsServiceError, parseAwsJsonError } from '../../../common/aws-service-error.ts';
import { awsJsonHeaders, DYNAMODB_JSON } from '../../../common/aws-json-protocol.ts';

/** The DynamoDB operations the lease refresher sends. */
export type LeanOperation = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Scan' | 'Query' | 'BatchGetItem' | 'DescribeTable' | 'CreateTable' | 'UpdateTable';

/**
 * A DynamoDB caller without the SDK: input and output as the SDK's commands shape them for item
 * operations (binary attributes as Uint8Array), errors named as the SDK names them. Timestamps in
 * table descriptions stay epoch seconds (the refresher reads only statuses from them).
 */
export interface LeanDynamoDB {
  call(operation: LeanOperation, input: object, options: { abortSignal: AbortSignal }): Promise<unknown>;
}

/** Where calls go and with which keys; resolved by the main thread's SDK client and posted to the thread. */
export interface LeanAccess {
  region: string;
  endpoint: string;
  credentials: SigningCredentials & { expiration?: Date };
  /** The client's maxAttempts (AWS_MAX_ATTEMPTS, the profile's max_attempts); default 4, DynamoDB's. */
  maxAttempts?: number;
}

/** A service error shaped as the SDK shapes it: `name` is the exception type (dynamodb-errors.ts tests it). */
export class DynamoDBServiceError extends AwsServiceError {
  /** The server's clock (its Date header), for clock-skew correction. */
  serverDate?: string;
  constructor(name: string, message: string, statusCode: number, requestId: string | undefined) {
    super(name, message, statusCode, requestId, 1);
    this.$metadata.totalRetryDelay = 0;
  }
}

/**
 * The SDK's standard retry mode as @smithy/core/retry (2026) configures it for DynamoDB: 4 attempts
 * (or the client's maxAttempts), full-jitter backoff from 25 ms (1 s when throttled) capped at 20 s,
 * and a retry quota of 500 tokens (14 per retry, 5 per throttled retry, paid back by successes).
 */
export const DEFAULT_MAX_ATTEMPTS = 4;
const BASE_DELAY_MS = 25;
const THROTTLING_BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 20000;
const QUOTA = 500;
const RETRY_COST = 14;
const THROTTLING_RETRY_COST = 5;
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const CLOCK_SKEW = new Set(['AccessDeniedException', 'AuthFailure', 'InvalidSignatureException', 'RequestExpired', 'RequestInTheFuture', 'RequestTimeTooSkewed', 'SignatureDoesNotMatch']);
const SKEW_MS = 300000;

/**
 * DynamoDB's JSON 1.0 protocol on ts-kcl's own keep-alive HTTP/1.1 client (common/http1, 50
 * connections, as the SDK's default agent), SigV4-signed on node:crypto:
 * what the renewal thread sends its conditional writes with, so that it never loads the SDK (~200 ms
 * CPU and ~25 MB per thread). Calls wait for the first `setAccess`; retries, clock-skew correction and
 * errors follow the SDK's standard mode, so the refresher cannot tell the two apart (the retry quota is
 * this caller's own, as each SDK client has its own).
 */
export class LeanDynamoDBClient implements LeanDynamoDB {
  private access: { region: string; url: URL; credentials: SigningCredentials; maxAttempts: number } | undefined;
  private accessWaiters: (() => void)[] = [];
  private clockOffsetMs = 0;
  private quota = QUOTA;
  private readonly http = new KeepAliveHttp1Client();
  private lastResolved: LeanAccess | undefined;

  /**
   * `resolveAccess`, when given, is asked before every call (the main thread's use: the SDK client's own
   * credential cache decides when keys change, and its failure, no region or no credentials, fails the call
   * with the SDK's own error). Without it calls wait for `setAccess` (the renewal thread's use).
   */
  constructor(private readonly resolveAccess?: () => Promise<LeanAccess>) {}

  /** New keys or endpoint: the next call uses them. */
  setAccess(access: LeanAccess): void {
    const { accessKeyId, secretAccessKey, sessionToken } = access.credentials;
    this.access = {
      region: access.region,
      url: new URL(access.endpoint),
      credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
      maxAttempts: access.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    };
    for (const wake of this.accessWaiters.splice(0)) wake();
  }

  async call(operation: LeanOperation, input: object, options: { abortSignal: AbortSignal }): Promise<unknown> {
    const signal = options.abortSignal;
    if (this.resolveAccess) this.useResolved(await this.resolveAccess());
    else await this.accessGiven(signal);
    const body = JSON.stringify(input, binaryToBase64);
    let totalRetryDelay = 0;
    let skewCorrected = false;
    let lastCost: number | undefined;
    for (let attempts = 1; ; attempts++) {
      try {
        const out = await this.attempt(operation, body, signal);
        this.quota = Math.min(QUOTA, this.quota + (lastCost ?? 1));
        out.$metadata.attempts = attempts;
        out.$metadata.totalRetryDelay = totalRetryDelay;
        return out;
      } catch (err) {
        if (signal.aborted) throw abortError();
        if (err instanceof DynamoDBServiceError) Object.assign(err.$metadata, { attempts, totalRetryDelay });
        const corrected: boolean = !skewCorrected && this.correctedSkew(err);
        skewCorrected ||= corrected;
        const kind = corrected ? 'TRANSIENT' : classify(err);
        const cost = kind === 'THROTTLING' ? THROTTLING_RETRY_COST : RETRY_COST;
        if (kind === undefined || attempts >= this.access!.maxAttempts || this.quota < cost) throw err;
        this.quota -= lastCost = cost;
        const delay = Math.floor(Math.random() * Math.min(2 ** (attempts - 1) * (kind === 'THROTTLING' ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS), MAX_DELAY_MS));
        totalRetryDelay += delay;
        await sleep(delay, signal).catch(() => {
          throw abortError();
        });
      }
    }
  }

  /** Closes the pooled connections. */
  destroy(): void {
    this.http.destroy();
  }

  private useResolved(access: LeanAccess): void {
    if (access === this.lastResolved) return;
    this.setAccess(access); // may throw (a malformed endpoint): then the next call tries it again
    this.lastResolved = access;
  }

  private accessGiven(signal: AbortSignal): Promise<void> {
    if (this.access) return Promise.resolve();
    if (signal.aborted) return Promise.reject(abortError());
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.accessWaiters = this.accessWaiters.filter((w) => w !== wake);
        reject(abortError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.accessWaiters.push(wake);
    });
  }

  private async attempt(operation: LeanOperation, body: string, signal: AbortSignal): Promise<{ $metadata: Record<string, unknown> }> {
    const { region, url, credentials } = this.access!;
    const path = url.pathname || '/';
    const headers = signRequest(
      {
        method: 'POST',
        path,
        headers: awsJsonHeaders(DYNAMODB_JSON, url.host, operation, body),
        body,
      },
      credentials,
      region,
      'dynamodb',
      new Date(Date.now() + this.clockOffsetMs),
    );
    // A dropped connection is a failed attempt, as through the SDK: the refresher's read-backs judge a lost write.
    const response = await this.http.request({ origin: url, method: 'POST', path, headers, body, retryStale: false }, signal);
    const requestId = response.headers.get('x-amzn-requestid');
    const date = response.headers.get('date');
    const status = response.status;
    const text = response.body.toString('utf8');
    if (status < 200 || status >= 300) {
      const err = serviceError(text, status, requestId, response.headers.get('x-amzn-errortype'), operation);
      if (date !== undefined) err.serverDate = date;
      throw err;
    }
    const out = (text ? JSON.parse(text, base64ToBinary) : {}) as { $metadata: Record<string, unknown> };
    out.$metadata = { httpStatusCode: status, ...(requestId !== undefined ? { requestId } : {}) };
    return out;
  }

  /** The SDK's clock-skew correction: a signature refused for its time, with a server clock ≥ 5 min off ours, moves our clock once. */
  private correctedSkew(err: unknown): boolean {
    if (!(err instanceof DynamoDBServiceError) || !CLOCK_SKEW.has(err.name)) return false;
    const serverMs = Date.parse(err.serverDate ?? '');
    if (Number.isNaN(serverMs) || Math.abs(Date.now() + this.clockOffsetMs - serverMs) < SKEW_MS) return false;
    this.clockOffsetMs = serverMs - Date.now();
    return true;
  }
}

/** The SDK's error name: the x-amzn-errortype header or `__type`, without namespace (`#`) or suffix (`:`). */
function serviceError(text: string, status: number, requestId: string | undefined, errorType: string | undefined, operation: string): DynamoDBServiceError {
  const { name, message } = parseAwsJsonError(text, status, errorType);
  return new DynamoDBServiceError(name, message ?? `${operation} failed with HTTP ${status}`, status, requestId);
}

type RetryKind = 'THROTTLING' | 'TRANSIENT' | undefined;
function classify(err: unknown): RetryKind {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || THROTTLING_ERROR_NAMES.has(e.name ?? '')) return 'THROTTLING';
  const expired = e.name === 'InvalidSignatureException' && e.message?.includes('Signature expired') === true;
  if (expired || TRANSIENT_ERROR_NAMES.has(e.name ?? '') || NETWORK_CODES.has(e.code ?? '') || (status !== undefined && TRANSIENT_STATUS_CODES.has(status))) return 'TRANSIENT';
  return undefined;
}

/** JSON.stringify replacer: binary attribute values (`B`, `BS`) go as base64, as the SDK's serializer sends them. */
function binaryToBase64(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') : value;
}

/** JSON.parse reviver: `B` and `BS` values (only binary attributes carry those keys with strings) back to bytes. */
function base64ToBinary(key: string, value: unknown): unknown {
  if (key === 'B' && typeof value === 'string') return bytes(value);
  if (key === 'BS' && Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map(bytes);
  return value;
}

const bytes = (base64: string): Uint8Array => {
  const b = Buffer.from(base64, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};
