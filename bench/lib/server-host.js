// The servers' own process: kinesalite and dynalite in-process (from dist/local/local-servers.js), so
// their CPU is never counted against the code being measured, which runs in other processes.
//
// SERVER_HOST_ONLY=kinesis|dynamodb runs one of the two (startServerHost({ split: true }) starts one
// host each, so a 1,000-shard poll load on kinesalite cannot starve dynalite's renewals of CPU).
//
// Standalone: `node bench/lib/server-host.js` prints {"kinesis": url, "dynamodb": url} on stdout and
// serves until killed. Under a bench (forked with an IPC channel) it also answers commands:
//   { id, cmd: 'createStream', name, shards } / { id, cmd: 'deleteStream', name }
//   { id, cmd: 'preload', name, records, bytes, keys? }      PutRecords, 500 a call, 4 callers
//   { id, cmd: 'startProducer', name, perTick, tickMs }       unique data `rec-N`, random keys
//   { id, cmd: 'stopProducer' }                               -> { produced }
//   { id, cmd: 'resetCounts' } / { id, cmd: 'counts' }        requests seen, by X-Amz-Target
// and exits when its parent goes away (IPC disconnect) or on SIGTERM/SIGINT.
import './quiet-sdk-warning.js';
import http from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const dist = process.env.KCL_DIST ? path.resolve(process.env.KCL_DIST) : fileURLToPath(new URL('../../dist', import.meta.url));

// Count every request both servers receive, by operation (before they are created).
let counts = {};
const createServer = http.createServer;
http.createServer = function countingCreateServer(...args) {
  const server = createServer.apply(this, args);
  server.prependListener('request', (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? 'none');
    counts[target] = (counts[target] ?? 0) + 1;
    const end = res.end;
    res.end = function countingEnd(chunk, ...rest) {
      if (chunk && typeof chunk !== 'function') {
        const key = `${target} bytes`;
        counts[key] = (counts[key] ?? 0) + Buffer.byteLength(chunk);
      }
      return end.call(this, chunk, ...rest);
    };
  });
  return server;
};

// A client that exits with a call in flight (every bench child does) aborts that request; kinesalite
// throws on a request error, which must not end the servers of the remaining contenders.
process.on('uncaughtException', (err) => {
  if (err?.code === 'ECONNRESET' || err?.message === 'aborted') return;
  process.stderr.write(`server host: ${err?.stack ?? err}\n`);
  process.exit(1);
});

const { startKinesalite, startDynalite } = await import(pathToFileURL(path.join(dist, 'local/local-servers.js')).href);
const { KinesisClient, CreateStreamCommand, DeleteStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand } = await import('@aws-sdk/client-kinesis');
const { NodeHttpHandler } = await import('@smithy/node-http-handler');

const only = process.env.SERVER_HOST_ONLY;
const none = { endpoint: undefined, stop: async () => undefined };
const [kinesis, dynamodb] = await Promise.all([only === 'dynamodb' ? none : startKinesalite(), only === 'kinesis' ? none : startDynalite()]);
const client = new KinesisClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  endpoint: kinesis.endpoint ?? 'http://127.0.0.1:9', // a dynamodb-only host never sends
  requestHandler: new NodeHttpHandler({ httpAgent: { keepAlive: true } }),
});

async function createStream({ name, shards }) {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (;;) {
    const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return { shards: d.StreamDescriptionSummary.OpenShardCount };
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `records` records of `bytes` bytes; partition keys spread over every shard (MD5 of `pk-N`). */
async function preload({ name, records, bytes, keys = 1000 }) {
  const payload = Buffer.alloc(bytes, 'x');
  let next = 0;
  const caller = async () => {
    for (;;) {
      const start = next;
      const n = Math.min(500, records - start);
      if (n <= 0) return;
      next += n;
      const batch = Array.from({ length: n }, (_, i) => ({ PartitionKey: `pk-${(start + i) % keys}`, Data: payload }));
      for (let attempt = 0; ; attempt++) {
        const out = await client.send(new PutRecordsCommand({ StreamName: name, Records: batch }));
        if (!out.FailedRecordCount) break;
        if (attempt > 5) throw new Error(`PutRecords failed for ${out.FailedRecordCount} records`);
        const failed = new Set(out.Records.flatMap((r, i) => (r.ErrorCode ? [i] : [])));
        batch.splice(0, batch.length, ...batch.filter((_, i) => failed.has(i)));
      }
    }
  };
  const started = performance.now();
  await Promise.all([caller(), caller(), caller(), caller()]);
  return { records, ms: Math.round(performance.now() - started) };
}

let producer;
function startProducer({ name, perTick = 24, tickMs = 100 }) {
  const state = { running: true, produced: 0, errors: 0 };
  state.loop = (async () => {
    while (state.running) {
      const batch = Array.from({ length: perTick }, () => ({ PartitionKey: `k${Math.random()}`, Data: Buffer.from(`rec-${state.produced++}`) }));
      try {
        const out = await client.send(new PutRecordsCommand({ StreamName: name, Records: batch }));
        state.errors += out.FailedRecordCount ?? 0;
      } catch {
        state.errors += batch.length;
      }
      await new Promise((r) => setTimeout(r, tickMs));
    }
  })();
  producer = state;
  return {};
}

async function stopProducer() {
  if (!producer) return { produced: 0, errors: 0 };
  producer.running = false;
  await producer.loop;
  const { produced, errors } = producer;
  producer = undefined;
  return { produced, errors };
}

/** Frees the stream's shards (kinesalite counts them against its shard limit). */
async function deleteStream({ name }) {
  await client.send(new DeleteStreamCommand({ StreamName: name }));
  return {};
}

const commands = {
  createStream,
  deleteStream,
  preload,
  startProducer,
  stopProducer,
  resetCounts: () => ((counts = {}), {}),
  counts: () => ({ counts }),
};

async function stop(code = 0) {
  await stopProducer().catch(() => undefined);
  client.destroy();
  await Promise.race([Promise.allSettled([kinesis.stop(), dynamodb.stop()]), new Promise((r) => setTimeout(r, 1000))]);
  process.exit(code);
}

process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
if (process.send) {
  process.on('message', async (msg) => {
    const handler = commands[msg?.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${msg?.cmd}`);
      process.send({ id: msg.id, ok: true, result: await handler(msg) });
    } catch (err) {
      process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
    }
  });
  process.once('disconnect', () => void stop());
  process.send({ ready: true, kinesis: kinesis.endpoint, dynamodb: dynamodb.endpoint });
}
process.stdout.write(JSON.stringify({ kinesis: kinesis.endpoint, dynamodb: dynamodb.endpoint }) + '\n');
