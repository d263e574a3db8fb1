import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { AwsClients } from '../../src/common/clients.ts';
import { EventStreamHttp2Handler } from '../../src/common/event-stream-http2-handler.ts';
import type { SchedulerConfig } from '../../src/index.ts';

const base: SchedulerConfig = {
  applicationName: 'app',
  streamName: 's',
  processorFactory: () => {
    throw new Error('unused');
  },
};
const credentials = { accessKeyId: 'id', secretAccessKey: 'secret' };

describe('AwsClients.fanOutKinesis', () => {
  it('is built on first use from clientConfig: endpoints.kinesisHttp2, the event-stream HTTP/2 handler, and destroyed with the rest', async () => {
    const clients = new AwsClients({
      ...base,
      clientConfig: { region: 'eu-west-1', credentials, endpoints: { kinesis: 'http://127.0.0.1:1', kinesisHttp2: 'https://127.0.0.1:2' } },
    });
    const client = clients.fanOutKinesis;
    assert.equal(clients.fanOutKinesis, client, 'built once');
    assert.ok(client.config.requestHandler instanceof EventStreamHttp2Handler);
    const endpoint = await client.config.endpoint!();
    assert.equal(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`, 'https://127.0.0.1:2');
    assert.equal(await client.config.region(), 'eu-west-1');
    assert.notEqual(client, clients.kinesis);
    let destroyed = false;
    const destroy = client.destroy.bind(client);
    client.destroy = () => ((destroyed = true), destroy());
    clients.destroy();
    assert.ok(destroyed);
  });

  it('falls back to endpoints.kinesis, then to the region and credentials of a borrowed kinesisClient', async () => {
    const borrowed = new KinesisClient({ region: 'ap-south-1', credentials });
    const clients = new AwsClients({ ...base, kinesisClient: borrowed, clientConfig: { endpoints: { kinesis: 'https://127.0.0.1:3' } } });
    const client = clients.fanOutKinesis;
    const endpoint = await client.config.endpoint!();
    assert.equal(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`, 'https://127.0.0.1:3');
    assert.equal(await client.config.region(), 'ap-south-1');
    assert.deepEqual(await client.config.credentials(), await borrowed.config.credentials());
    clients.destroy();
    borrowed.destroy();
  });

  it('borrows a given fanOutKinesisClient and never destroys it', () => {
    const given = new KinesisClient({ region: 'us-east-1', credentials });
    let destroyed = false;
    given.destroy = () => void (destroyed = true);
    const clients = new AwsClients({ ...base, fanOutKinesisClient: given });
    assert.equal(clients.fanOutKinesis, given);
    clients.destroy();
    assert.equal(destroyed, false);
  });
});
