import { createHash, createHmac } from 'node:crypto';

/** The keys a request is signed with: what the SDK client's credential provider resolved. */
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
 * AWS Signature Version 4 on node:crypto, for the lean paths (no query string: the JSON protocols of
 * DynamoDB and Kinesis post to a path).
 * Returns the headers to send: the request's own plus `x-amz-date`, `x-amz-security-token` (with a
 * session), `x-amz-content-sha256` and `authorization`, all but the last signed, as the SDK's
 * SignatureV4 signs them (unit test: test/unit/sigv4.test.ts compares the two).
 */
export function signRequest(request: SignableRequest, credentials: SigningCredentials, region: string, service: string, date: Date): Record<string, string> {
  const longDate = amzDate(date);
  const shortDate = longDate.slice(0, 8);
  const scope = `${shortDate}/${region}/${service}/aws4_request`;
  const payloadHash = sha256Hex(request.body);
  const headers: Record<string, string> = { ...request.headers, 'x-amz-date': longDate, 'x-amz-content-sha256': payloadHash };
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  let canonicalRequest = `${request.method}\n${canonicalPath(request.path)}\n\n`; // no query string
  for (const name of names) canonicalRequest += `${name}:${trimmed(headers[name]!)}\n`;
  canonicalRequest += `\n${signedHeaders}\n${payloadHash}`;
  const stringToSign = `${ALGORITHM}\n${longDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, shortDate, region, service)).update(stringToSign).digest('hex');
  headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** `YYYYMMDDTHHMMSSZ` */
function amzDate(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** A header value as the canonical request has it: line breaks as spaces, runs of blanks as one, no blanks at the ends. */
function trimmed(value: string): string {
  return NEEDS_TRIM.test(value) ? value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '') : value;
}
const NEEDS_TRIM = /[\r\n\t]| {2}|^ | $/;

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');
const hmac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/** The day's keys; a renewal thread or a poll loop signs hundreds of calls a second with the same one, so the last few are kept. */
const keys = new Map<string, Buffer>();
function signingKey(secret: string, shortDate: string, region: string, service: string): Buffer {
  const id = `${shortDate}/${region}/${service}/${secret}`;
  let key = keys.get(id);
  if (!key) {
    if (keys.size >= 4) keys.clear();
    keys.set(id, (key = hmac(hmac(hmac(hmac(`AWS4${secret}`, shortDate), region), service), 'aws4_request')));
  }
  return key;
}

/** Paths seen (one or two per endpoint): escaped once. */
const canonicalPaths = new Map<string, string>();
function canonicalPath(path: string): string {
  let canonical = canonicalPaths.get(path);
  if (canonical === undefined) {
    if (canonicalPaths.size >= 16) canonicalPaths.clear();
    canonicalPaths.set(path, (canonical = escapedPath(path)));
  }
  return canonical;
}

/** RFC 3986 escaping of each segment, as the SDK signer escapes a path (`/`, or a custom endpoint's path). */
function escapedPath(path: string): string {
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
