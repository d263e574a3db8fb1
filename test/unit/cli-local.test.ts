import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { choosePort } from '../../src/local/ports.ts';
import { freePort } from '../../src/local/local-servers.ts';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalCertificate } from '../../src/local/tls-certificate.ts';

describe('ts-kcl local', () => {
  it('makes a certificate for 127.0.0.1, ::1 and localhost once, then reuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ts-kcl-cert-'));
    try {
      const made = ensureLocalCertificate(dir);
      const pem = await readFile(made.certPath, 'utf8');
      const cert = new X509Certificate(pem);
      assert.ok(cert.verify(cert.publicKey), 'self-signed');
      assert.equal(cert.ca, false);
      assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(cert.checkIP('::1'), '::1');
      assert.equal(cert.checkHost('localhost'), 'localhost');
      const server = JSON.parse(await readFile(made.serverJsonPath, 'utf8')) as { server: { key: string; cert: string } };
      assert.equal(server.server.cert, pem);
      assert.match(server.server.key, /BEGIN PRIVATE KEY/);
      ensureLocalCertificate(dir);
      assert.equal(await readFile(made.certPath, 'utf8'), pem, 'reused, so NODE_EXTRA_CA_CERTS stays valid');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the stable default when free; a free one (with a note) when taken; an asked-for port that is taken is an error', async () => {
    const stable = await freePort();
    assert.deepEqual(await choosePort('Kinesis', undefined, stable), { port: stable });
    const taken = createServer().listen(stable, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const other = await choosePort('Kinesis', undefined, stable);
      assert.notEqual(other.port, stable);
      assert.equal(other.note, `Kinesis: port ${stable} is in use, so ${other.port} instead`);
      await assert.rejects(choosePort('Kinesis', stable, 4567), new RegExp(`Kinesis port ${stable} is in use`));
      assert.notEqual((await choosePort('Kinesis', 0, stable)).port, 0, '0 means any free port');
    } finally {
      taken.close();
    }
  });
});
