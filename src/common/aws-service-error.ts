/** A service error shaped as the SDK shapes it: `name` is the exception type the rest of the code checks. */
export class AwsServiceError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId?: string; attempts: number; totalRetryDelay?: number };
  constructor(name: string, message: string, statusCode: number, requestId: string | undefined, attempts: number) {
    super(message);
    this.name = name;
    this.$fault = statusCode >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: statusCode, ...(requestId !== undefined ? { requestId } : {}), attempts };
  }
}

/**
 * An AWS JSON-protocol error answer as the SDK names it: `__type` or the x-amzn-errortype header, without
 * namespace (`#`) or suffix (`:`), and its message; a body that is not JSON (a proxy's page) is named by
 * its status. Plain code: the renewal thread uses it without loading the SDK.
 */
export function parseAwsJsonError(text: string, statusCode: number, errorTypeHeader: string | undefined): { name: string; message: string | undefined } {
  let parsed: { __type?: string; message?: string; Message?: string } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON: the status names it
  }
  const raw = errorTypeHeader ?? parsed.__type ?? `Http${statusCode}Error`;
  return { name: raw.split(':')[0]!.split('#').at(-1)!, message: parsed.message ?? parsed.Message };
}
