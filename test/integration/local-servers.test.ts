import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { DynamoDBClient, ListTablesCommand, CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
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

  it('stop() while a request whose client has gone is still being served does not throw "Database is closed" in this process', async () => {
    // dynalite serves UpdateItem as a read, then a write; closing its database between the two rethrows the
    // write's error, uncaught, in the process hosting it (a test's, or `ts-kcl local`'s). A client that gives up
    // on a call (an aborted request at a worker's shutdown) leaves its request there while the servers stop.
    const uncaught: unknown[] = [];
    const record = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', record);
    try {
      for (let turns = 0; turns < 24; turns++) {
        const server = await startDynalite();
        const client = new DynamoDBClient({ region, credentials, endpoint: server.endpoint });
        await client.send(new CreateTableCommand({ TableName: 'tbl', KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
        await client.send(new PutItemCommand({ TableName: 'tbl', Item: { k: { S: 'a' } } }));
        client.destroy();
        const body = JSON.stringify({ TableName: 'tbl', Key: { k: { S: 'a' } }, UpdateExpression: 'SET v = :v', ConditionExpression: 'attribute_exists(k)', ExpressionAttributeValues: { ':v': { S: 'y' } } });
        const socket = connect(Number(new URL(server.endpoint).port), '127.0.0.1');
        await once(socket, 'connect');
        socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.UpdateItem\r\nAuthorization: AWS4-HMAC-SHA256 Credential=local/20261203/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\nX-Amz-Date: 20261203T000000Z\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        // The client gives up after a few turns of the event loop: somewhere in dynalite's read-then-write.
        for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
        socket.destroy();
        await server.stop();
      }
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(uncaught.map(String), []);
    } finally {
      process.off('uncaughtException', record);
    }
  });
});
