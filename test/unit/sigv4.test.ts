import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { signRequest, type SigningCredentials } from '../../src/common/sigv4.ts';

interface SdkSigner {
  sign(request: object, options: { signingDate: Date }): Promise<{ headers: Record<string, string> }>;
}

/** The signer the SDK's DynamoDBClient itself uses, for these keys and region. */
async function sdkSigner(credentials: SigningCredentials, region: string): Promise<SdkSigner> {
  const client = new DynamoDBClient({ region, credentials });
  const signer = (await (client.config as unknown as { signer: () => Promise<SdkSigner> }).signer());
  client.destroy();
  return signer;
}

const body = JSON.stringify({ TableName: 'leases-ü', Key: { leaseKey: { S: 'shardId-000000000001' } }, ConsistentRead: true });
const request = (path: string, host: string) => ({
  method: 'POST',
  path,
  headers: {
    host,
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': 'DynamoDB_20120810.GetItem',
    'content-length': String(Buffer.byteLength(body)),
  },
  body,
});

describe('SigV4 signer (node:crypto)', () => {
  const cases: { what: string; credentials: SigningCredentials; region: string; path: string; host: string; date: Date }[] = [
    { what: 'static keys', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }, region: 'us-east-1', path: '/', host: 'dynamodb.us-east-1.amazonaws.com', date: new Date('2026-12-02T07:08:09.123Z') },
    {
      what: 'a session token, another region, a custom endpoint with a port and a path',
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token/with+chars==' },
      region: 'eu-west-1',
      path: '/prefix/a b',
      host: '127.0.0.1:4567',
      date: new Date('2027-01-31T23:59:59.999Z'),
    },
  ];
  for (const c of cases) {
    it(`signs as the SDK's SignatureV4 does: ${c.what}`, async () => {
      const signer = await sdkSigner(c.credentials, c.region);
      const [hostname, port] = c.host.split(':');
      const req = request(c.path, c.host);
      const sdk = await signer.sign({ ...req, protocol: 'https:', hostname, ...(port ? { port: Number(port) } : {}), query: {} }, { signingDate: c.date });
      const mine = signRequest(req, c.credentials, c.region, 'dynamodb', c.date);
      assert.deepEqual(mine, sdk.headers);
    });
  }
});
