import { X509Certificate, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A certificate for 127.0.0.1, ::1 and localhost, made once per project directory, for kinesis-local's
 * TLS port. kinesis-local's own certificate names no host, so no client can trust it without turning
 * the name check off in code; this one, trusted with NODE_EXTRA_CA_CERTS, works with the SDK's defaults
 * (fan-out included). Built here (ECDSA P-256, self-signed, not a CA), so no `openssl` is needed.
 */
export interface LocalCertificate {
  /** PEM certificate: the value for NODE_EXTRA_CA_CERTS. */
  certPath: string;
  /** kinesis-local's format ({ server: { key, cert } }): the value for KINESIS_MOCK_CERT_PATH. */
  serverJsonPath: string;
}

const VALID_DAYS = 825;

export function ensureLocalCertificate(dir: string): LocalCertificate {
  const certPath = join(dir, 'cert.pem');
  const serverJsonPath = join(dir, 'server.json');
  if (existsSync(serverJsonPath) && stillValid(certPath)) return { certPath, serverJsonPath };
  mkdirSync(dir, { recursive: true });
  const { cert, key } = selfSignedCertificate(new Date());
  writeFileSync(certPath, cert);
  writeFileSync(serverJsonPath, JSON.stringify({ server: { key, cert } }), { mode: 0o600 }); // only kinesis-local reads the key
  return { certPath, serverJsonPath };
}

/** Names 127.0.0.1 and is good for at least another day. */
function stillValid(certPath: string): boolean {
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    return cert.checkIP('127.0.0.1') !== undefined && new Date(cert.validTo).getTime() > Date.now() + 86400000;
  } catch {
    return false;
  }
}

/** An X.509 v3 certificate in DER, assembled by hand: CN=localhost, SAN localhost/127.0.0.1/::1, serverAuth. */
export function selfSignedCertificate(now: Date): { cert: string; key: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('localhost')))));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, and minimal in DER (no leading zero byte)
  const tbs = seq(
    tlv(0xa0, int(Buffer.from([2]))), // v3
    int(serial),
    ecdsaWithSha256,
    name,
    seq(utcTime(new Date(now.getTime() - 3600000)), utcTime(new Date(now.getTime() + VALID_DAYS * 86400000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(
      0xa3,
      seq(
        extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
        extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
        extension('2.5.29.17', false, seq(tlv(0x82, Buffer.from('localhost')), tlv(0x87, Buffer.from([127, 0, 0, 1])), tlv(0x87, Buffer.from([...Array<number>(15).fill(0), 1])))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return { cert: pem('CERTIFICATE', der), key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

// DER encoding, just the types a certificate needs.
function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}
const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));
const int = (bytes: Buffer): Buffer => tlv(0x02, bytes);

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const n of rest) {
    const groups = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** YYMMDDHHMMSSZ: valid through 2049, far beyond this certificate. */
const utcTime = (d: Date): Buffer => tlv(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));

const extension = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));

const pem = (label: string, der: Buffer): string => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
