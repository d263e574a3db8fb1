import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A certificate for 127.0.0.1 and localhost, made once per project directory, for kinesis-local's TLS
 * port. kinesis-local's own certificate names no host, so no client can trust it without turning the
 * name check off in code; this one, trusted with NODE_EXTRA_CA_CERTS, works with the SDK's defaults
 * (fan-out included). Made with the `openssl` command; `undefined` when that is not installed.
 */
export interface LocalCertificate {
  /** PEM certificate: the value for NODE_EXTRA_CA_CERTS. */
  certPath: string;
  /** kinesis-local's format ({ server: { key, cert } }): the value for KINESIS_MOCK_CERT_PATH. */
  serverJsonPath: string;
}

const SUBJECT_ALT_NAME = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';

export function ensureLocalCertificate(dir: string): LocalCertificate | undefined {
  const certPath = join(dir, 'cert.pem');
  const serverJsonPath = join(dir, 'server.json');
  if (existsSync(serverJsonPath) && stillValid(certPath)) return { certPath, serverJsonPath };
  mkdirSync(dir, { recursive: true });
  const keyPath = join(dir, 'key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '825', '-subj', '/CN=localhost', '-addext', SUBJECT_ALT_NAME], {
      stdio: 'ignore',
      timeout: 30000,
    });
  } catch {
    return undefined;
  }
  const key = readFileSync(keyPath, 'utf8');
  rmSync(keyPath); // only kinesis-local needs the key, inside server.json
  writeFileSync(serverJsonPath, JSON.stringify({ server: { key, cert: readFileSync(certPath, 'utf8') } }), { mode: 0o600 });
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
