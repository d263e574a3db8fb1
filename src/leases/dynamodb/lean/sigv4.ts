import { createHash, createHmac } from 'node:crypto';

/** The keys a request is signed with: what the main thread's SDK client resolved. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A request to sign: header names in lower case, `host` among them, none the signer leaves out (user-agent, connection...); the body as sent. */
export interface SignableRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/**
 * AWS Signature Version 4 on node:crypto (no query string: DynamoDB's JSON protocol posts to a path).
 * Returns the headers to send: the request's own plus `x-amz-date`, `x-amz-security-token` (with a
 * session), `x-amz-content-sha256` and `authorization`, all but the last signed, as the SDK's
 * SignatureV4 signs them (unit test: test/unit/sigv4.test.ts compares the two).
 */
export function signRequest(request: SignableRequest, credentials: SigningCredentials, region: string, service: string, date: Date): Record<string, string> {
  const longDate = date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const shortDate = longDate.slice(0, 8);
  const scope = `${shortDate}/${region}/${service}/aws4_request`;
  const payloadHash = sha256Hex(request.body);
  const headers: Record<string, string> = { ...request.headers, 'x-amz-date': longDate, 'x-amz-content-sha256': payloadHash };
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    request.method,
    canonicalPath(request.path),
    '', // no query string
    ...names.map((name) => `${name}:${headers[name]!.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '')}`),
    '',
    names.join(';'),
    payloadHash,
  ].join('\n');
  const stringToSign = [ALGORITHM, longDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, shortDate, region, service)).update(stringToSign).digest('hex');
  headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');
const hmac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/** The day's key; one renewal thread signs ~300 calls a second with the same one, so the last is kept. */
let lastKey: { id: string; key: Buffer } | undefined;
function signingKey(secret: string, shortDate: string, region: string, service: string): Buffer {
  const id = `${shortDate}/${region}/${service}/${secret}`;
  if (lastKey?.id !== id) lastKey = { id, key: hmac(hmac(hmac(hmac(`AWS4${secret}`, shortDate), region), service), 'aws4_request') };
  return lastKey.key;
}

/** RFC 3986 escaping of each segment, as the SDK signer escapes a path (DynamoDB: `/`, or a custom endpoint's path). */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const joined = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return encodeURIComponent(joined)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}
