import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsClients } from '../../src/common/clients.ts';
import { LeanDynamoDBClient } from '../../src/leases/dynamodb/lean/lean-dynamodb.ts';
import type { Logger } from '../../src/common/logger.ts';
import type { SchedulerConfig } from '../../src/index.ts';

const base: SchedulerConfig = {
  applicationName: 'app',
  streamName: 's',
  processorFactory: () => {
    throw new Error('unused');
  },
};

describe('AwsClients', () => {
  it("routes the Kinesis handler's full-pool warning to ts-kcl's logger, not the console", async () => {
    // A server that never answers: 150 calls fill the client's 50 connections and queue 100.
    const held: IncomingMessage[] = [];
    const server = createServer((req) => void held.push(req));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const warnings: { obj: unknown; msg: string | undefined }[] = [];
    const capture = (obj: unknown, msg?: string): void => void warnings.push({ obj, msg });
    const logger: Logger = { debug: () => {}, info: () => {}, warn: capture, error: capture };
    const printed: unknown[] = [];
    const consoleWarn = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args);
    const clients = new AwsClients(
      { ...base, clientConfig: { region: 'us-east-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' }, endpoints: { kinesis: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } } },
      logger,
    );
    const abort = new AbortController();
    try {
      const calls = Array.from({ length: 150 }, () => clients.kinesis.send(new ListShardsCommand({ StreamName: 's' }), { abortSignal: abort.signal }).catch(() => undefined));
      const deadline = performance.now() + 15000;
      while (warnings.length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      abort.abort();
      await Promise.all(calls);
    } finally {
      console.warn = consoleWarn;
      clients.destroy();
      for (const req of held) req.socket.destroy();
      server.close();
    }
    assert.equal(warnings.length, 1, 'one warning through the logger');
    assert.match(warnings[0]!.msg ?? '', /Kinesis client's 50 connections are all busy/);
    assert.match(JSON.stringify(warnings[0]!.obj), /socket usage at capacity/, "the SDK's own words kept as a field");
    assert.deepEqual(printed, [], 'nothing on the console');
  });

  it("sends the lease table's calls through the lean caller on a client it built, through the app's own client otherwise", () => {
    const own = new AwsClients({ ...base, clientConfig: { region: 'us-east-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' } } });
    const appClient = new DynamoDBClient({ region: 'us-east-1' });
    const borrowed = new AwsClients({ ...base, dynamoDBClient: appClient });
    try {
      assert.ok(own.leaseTable instanceof LeanDynamoDBClient);
      assert.equal(borrowed.leaseTable, appClient, "the app's middleware and handler carry its lease calls");
    } finally {
      own.destroy();
      borrowed.destroy();
      appClient.destroy();
    }
  });
});
