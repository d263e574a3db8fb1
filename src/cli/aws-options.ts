/** Client config from CLI flags; credentials come from the default AWS chain unless an endpoint is local. */
export function clientConfigFrom(values: { region?: string; 'kinesis-endpoint'?: string; 'dynamodb-endpoint'?: string; endpoint?: string }): {
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  endpoints: { kinesis?: string; dynamodb?: string };
} {
  const dynamodb = values['dynamodb-endpoint'] ?? values.endpoint;
  const kinesis = values['kinesis-endpoint'];
  const local = [dynamodb, kinesis].some((u) => u !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(u));
  return {
    region: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    endpoints: { ...(kinesis ? { kinesis } : {}), ...(dynamodb ? { dynamodb } : {}) },
  };
}
