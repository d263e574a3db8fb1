import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../../src/local/local-servers.ts';
import { credentials, region } from '../support/env.ts';

describe('local servers', () => {
  it('a client that disconnects in the middle of a request does not crash the process hosting dynalite', async () => {
    const server = await startDynalite();
    const client = new DynamoDBClient({ region, credentials, endpoint: server.endpoint });
    try {
      const { port } = new URL(server.endpoint);
      const socket = connect(Number(port), '127.0.0.1');
      await once(socket, 'connect');
      // Headers promise 100 bytes of body; 10 arrive, then the client is gone (a worker killed with -9).
      socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 100\r\n\r\n{"Limit":1');
      socket.destroy();
      await once(socket, 'close');
      // Before the fix dynalite rethrew the request's "aborted" error: an uncaughtException fails this file.
      for (let i = 0; i < 20; i++) assert.ok(Array.isArray((await client.send(new ListTablesCommand({}))).TableNames));
    } finally {
      client.destroy();
      await server.stop();
    }
  });
});
