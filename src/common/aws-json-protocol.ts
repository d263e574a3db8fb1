/** An AWS JSON protocol (Smithy's awsJson1_0 / awsJson1_1): its content type and the prefix of its X-Amz-Target. */
export interface AwsJsonProtocol {
  readonly contentType: string;
  readonly targetPrefix: string;
}

export const KINESIS_JSON: AwsJsonProtocol = { contentType: 'application/x-amz-json-1.1', targetPrefix: 'Kinesis_20131202.' };
export const DYNAMODB_JSON: AwsJsonProtocol = { contentType: 'application/x-amz-json-1.0', targetPrefix: 'DynamoDB_20120810.' };

/** The headers of one call, as the SDK sends them before signing: the lean paths sign these. */
export function awsJsonHeaders(protocol: AwsJsonProtocol, host: string, operation: string, body: string): Record<string, string> {
  return {
    host,
    'content-type': protocol.contentType,
    'x-amz-target': `${protocol.targetPrefix}${operation}`,
    'content-length': String(Buffer.byteLength(body)),
  };
}
